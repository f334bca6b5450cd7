//! Integration tests of `causeway-monitoring`: the `/metrics` listener over real TCP, the
//! rendered text against Debian's `promtool`, and the alert rules' `promtool test rules`.

mod rules;
mod server;
mod support;
