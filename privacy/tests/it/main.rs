//! Integration tests of `causeway-privacy`, one binary (see STYLE.md): published vectors
//! (RFC 9180, Wycheproof), envelope round trips and tampering, grants, selective disclosure,
//! key handling. Test-plan ids (T42–T46) refer to ../shared/security/bridge-exploits.md.

#![allow(clippy::unwrap_used)]

mod commitment;
mod disclosure;
mod envelope;
mod grants;
mod hpke_vectors;
mod keys;
mod support;
mod wycheproof;
