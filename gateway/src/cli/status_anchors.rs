//! `causeway status`'s anchoring section: per `[anchors.<name>]`, what the Anchor on the public
//! chain holds for the origin (size, root, and when it was anchored, read now through the
//! chain's endpoints), what this gateway has ready to anchor (the largest threshold checkpoint
//! of the anchoring in its store, and the origin's log size), and what the running gateway's
//! anchoring task counted since it started (sent, landed, stale, failed), read from its own
//! `/metrics` (`[monitoring] listen`): attempts are counted in the process, not in the store.

use std::time::Duration;

use causeway_config::{Anchoring, Config};
use causeway_gateway::anchor::AnchorContract;
use causeway_gateway::heights::{PROBE_TIMEOUT, scrub_urls};
use causeway_relayer::store::{Lane, Store, UnixMillis};
use serde::Serialize;

use super::status::ChainName;

/// One anchoring as `status` reports it.
#[derive(Serialize, Debug)]
pub(crate) struct AnchorReport {
    name: String,
    origin: ChainName,
    /// The public chain's name.
    chain: String,
    /// The Anchor's address.
    anchor: String,
    /// Leaves in the origin's log here.
    log_size: u64,
    /// The largest checkpoint of the anchoring signed by its threshold, in this store.
    ready: Option<Ready>,
    /// What the Anchor holds now (`None`: nothing anchored, or not read).
    anchored: Option<OnChain>,
    /// Why the Anchor could not be read.
    anchored_error: Option<String>,
    /// Leaves of the origin's log here not anchored yet (when the Anchor could be read).
    behind: Option<u64>,
    /// The running gateway's counters since it started (`None`: not read).
    attempts: Option<Attempts>,
    /// Why the running gateway's counters could not be read.
    attempts_error: Option<String>,
}

#[derive(Serialize, Debug)]
pub(crate) struct Ready {
    size: u64,
    recorded_at_ms: u64,
    age_ms: u64,
}

#[derive(Serialize, Debug)]
struct OnChain {
    size: u64,
    root: String,
    /// The block of the last `Anchored` event and its time, when they could be read.
    at_block: Option<u64>,
    at_ms: Option<u64>,
    age_ms: Option<u64>,
}

/// The anchoring task's counters since the gateway started.
#[derive(Serialize, Debug, Default, PartialEq)]
struct Attempts {
    sent: u64,
    landed: u64,
    stale: u64,
    failed: u64,
}

/// What the store holds for each anchoring of `config`, in order: the origin's log size and
/// the largest checkpoint ready to anchor. Read apart from [`anchor_reports`], off the async
/// runtime (PostgreSQL's store blocks on a runtime of its own).
pub(crate) fn ready_to_anchor(
    config: &Config,
    store: &dyn Store,
    now: UnixMillis,
) -> anyhow::Result<Vec<(u64, Option<Ready>)>> {
    let mut out = Vec::new();
    for a in config.anchors() {
        let log_size = store.log_size(a.origin.domain)?.0;
        let lane = Lane {
            origin: a.origin.domain,
            destination: causeway_gateway::wiring::ANCHOR_DESTINATION,
        };
        let ready = store
            .latest_checkpoint(lane, a.threshold as usize)?
            .map(|c| Ready {
                size: c.checkpoint.size().0,
                recorded_at_ms: c.recorded_at.0,
                age_ms: now.0.saturating_sub(c.recorded_at.0),
            });
        out.push((log_size, ready));
    }
    Ok(out)
}

/// The report of every anchoring of `config` (`stored`: [`ready_to_anchor`]'s figures; the
/// chains and the gateway's metrics read concurrently, each bounded by [`PROBE_TIMEOUT`]).
pub(crate) async fn anchor_reports(
    config: &Config,
    stored: Vec<(u64, Option<Ready>)>,
    now: UnixMillis,
) -> anyhow::Result<Vec<AnchorReport>> {
    let metrics = metrics_text(config).await;
    let mut reports = Vec::new();
    for (a, (log_size, ready)) in config.anchors().iter().zip(stored) {
        let anchored = on_chain(config, a, now).await;
        let behind = match &anchored {
            Ok(Some(on)) => Some(log_size.saturating_sub(on.size)),
            Ok(None) => Some(log_size),
            Err(_) => None,
        };
        let (attempts, attempts_error) = match &metrics {
            Ok(text) => (Some(attempts_of(text, &a.name)), None),
            Err(e) => (None, Some(e.clone())),
        };
        let (anchored, anchored_error) = match anchored {
            Ok(a) => (a, None),
            Err(e) => (None, Some(e)),
        };
        reports.push(AnchorReport {
            name: a.name.clone(),
            origin: ChainName {
                name: a.origin.name.clone(),
                domain: a.origin.domain.0,
            },
            chain: a.chain.name.clone(),
            anchor: a.anchor.to_string(),
            log_size,
            ready,
            anchored,
            anchored_error,
            behind,
            attempts,
            attempts_error,
        });
    }
    Ok(reports)
}

/// What the Anchor holds for the anchoring's origin, read through its chain's endpoints.
async fn on_chain(
    config: &Config,
    a: &Anchoring,
    now: UnixMillis,
) -> Result<Option<OnChain>, String> {
    let chain = config
        .chain(&a.chain.name)
        .ok_or_else(|| format!("no chain {} in the configuration", a.chain.name))?;
    let urls: Vec<&str> = chain.endpoints.iter().map(|e| e.as_str()).collect();
    let contract = AnchorContract::connect_all(&urls, a.anchor).map_err(|e| scrub_urls(&e))?;
    let read = async {
        let latest = contract
            .latest(a.origin.domain)
            .await
            .map_err(|e| e.to_string())?;
        if latest.size.0 == 0 {
            return Ok(None);
        }
        // The time is a courtesy: a node that refuses a log query from block 0 (public
        // providers bound the range) leaves it out, not the size.
        let at = contract
            .last_anchored_at(a.origin.domain)
            .await
            .ok()
            .flatten();
        Ok(Some(OnChain {
            size: latest.size.0,
            root: latest.root.to_string(),
            at_block: at.map(|(b, _)| b),
            at_ms: at.map(|(_, t)| t.saturating_mul(1000)),
            age_ms: at.map(|(_, t)| now.0.saturating_sub(t.saturating_mul(1000))),
        }))
    };
    match tokio::time::timeout(PROBE_TIMEOUT * 2, read).await {
        Ok(r) => r.map_err(|e: String| scrub_urls(&e)),
        Err(_) => Err(format!(
            "the Anchor's chain {} did not answer within {} s",
            a.chain.name,
            (PROBE_TIMEOUT * 2).as_secs()
        )),
    }
}

/// The running gateway's `/metrics` text, or why it could not be read.
async fn metrics_text(config: &Config) -> Result<String, String> {
    let mut listen = config.monitoring().listen;
    if listen.ip().is_unspecified() {
        listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{listen}/metrics");
    let client = alloy::transports::http::reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let reply =
        client.get(&url).send().await.map_err(|_| {
            format!("the gateway's metrics at {url} did not answer (is it running?)")
        })?;
    if !reply.status().is_success() {
        return Err(format!(
            "the gateway's metrics at {url} answered {}",
            reply.status()
        ));
    }
    reply
        .text()
        .await
        .map_err(|e| format!("reading the gateway's metrics at {url}: {e}"))
}

/// The anchoring `name`'s counters in the exposition `text` (0 for a family not there).
fn attempts_of(text: &str, name: &str) -> Attempts {
    let value = |family: &str| -> u64 {
        let prefix = format!("{family}{{anchoring=\"{name}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Attempts {
        sent: value("causeway_anchors_sent_total"),
        landed: value("causeway_anchors_landed_total"),
        stale: value("causeway_anchors_stale_total"),
        failed: value("causeway_anchors_failed_total"),
    }
}

/// The anchoring section of the text report.
pub(crate) fn text(o: &mut String, reports: &[AnchorReport], human: fn(u64) -> String) {
    use std::fmt::Write as _;
    for r in reports {
        let _ = writeln!(
            o,
            "\nanchoring {}: {} ({}) on {}, Anchor {}",
            r.name, r.origin.name, r.origin.domain, r.chain, r.anchor
        );
        let row = |o: &mut String, label: &str, value: String| {
            let _ = writeln!(o, "  {label:<16}{value}");
        };
        row(o, "log size", r.log_size.to_string());
        row(
            o,
            "anchored",
            match (&r.anchored, &r.anchored_error) {
                (_, Some(e)) => format!("unknown: {e}"),
                (None, None) => "nothing yet".to_owned(),
                (Some(a), None) => format!(
                    "size {}{}{}",
                    a.size,
                    a.at_block
                        .map_or(String::new(), |b| format!(" in block {b}")),
                    a.age_ms
                        .map_or(String::new(), |t| format!(" ({} ago)", human(t)))
                ),
            },
        );
        if let Some(behind) = r.behind {
            row(o, "not anchored", format!("{behind} leaves"));
        }
        row(
            o,
            "ready here",
            r.ready.as_ref().map_or(
                "no threshold checkpoint of the anchoring yet".to_owned(),
                |c| format!("size {} (recorded {} ago)", c.size, human(c.age_ms)),
            ),
        );
        row(
            o,
            "attempts",
            match (&r.attempts, &r.attempts_error) {
                (Some(a), _) => format!(
                    "{} sent, {} landed, {} stale, {} failed (since the gateway started)",
                    a.sent, a.landed, a.stale, a.failed
                ),
                (None, e) => format!("unknown: {}", e.as_deref().unwrap_or("not read")),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_for_the_named_anchoring_only() {
        let text = "# HELP causeway_anchors_failed_total …\n\
                    causeway_anchors_failed_total{anchoring=\"other\"} 9\n\
                    causeway_anchors_failed_total{anchoring=\"alpha-on-beta\"} 3\n\
                    causeway_anchors_sent_total{anchoring=\"alpha-on-beta\"} 5\n\
                    causeway_anchors_landed_total{anchoring=\"alpha-on-beta\"} 2\n";
        assert_eq!(
            attempts_of(text, "alpha-on-beta"),
            Attempts {
                sent: 5,
                landed: 2,
                stale: 0,
                failed: 3
            }
        );
        assert_eq!(attempts_of(text, "absent"), Attempts::default());
    }
}
