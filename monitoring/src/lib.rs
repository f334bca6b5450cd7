//! `causeway-monitoring`: what operators see of Causeway.
//!
//! It will hold one metrics struct per component (backlog and oldest pending message per lane,
//! submit and confirm latency, root mismatches between gateways, last index each validator
//! signed, RPC errors, wallet balances), the `/metrics` handler, the Grafana dashboards under
//! `grafana/` and the Prometheus alert rules under `prometheus/` with their promtool tests.
//! Label values only ever come from fixed enums, never from message ids, so cardinality stays
//! bounded.
//!
//! None of that is written yet: the relayer pipeline keeps its counters itself
//! (`causeway_relayer::pipeline::PipelineMetrics`), and nothing exports them. This crate
//! depends on nothing of ours.
