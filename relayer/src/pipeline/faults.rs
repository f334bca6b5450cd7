//! Faults for multi-process tests (feature `test-faults`: the gateway's devnet builds turn it
//! on; a production build, `--no-default-features`, compiles none of this).
//!
//! A test that SIGKILLs or SIGSTOPs a replica must do it while the replica provably holds
//! work: with [`hold_after_lease`], every delivery round that leased messages logs
//! [`HOLDING_LEASE`] and then holds them, leased and not yet submitted, for a bounded time
//! before it goes on. The test watches the log for the line and acts inside that window.

use std::sync::OnceLock;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Lane, LeasedMessage};

/// The line a delivery round logs when it starts holding what it leased.
pub const HOLDING_LEASE: &str = "test fault: holding leased messages";

static HOLD_AFTER_LEASE: OnceLock<Duration> = OnceLock::new();

/// From now on, in this process, every delivery round that leased messages holds them for
/// `hold` (after logging [`HOLDING_LEASE`]) before it checks the destination and submits. The
/// first call decides; a later one changes nothing.
pub fn hold_after_lease(hold: Duration) {
    let _ = HOLD_AFTER_LEASE.set(hold);
}

/// The fault's step in a delivery round, right after its lease.
pub(super) async fn after_lease(lane: Lane, leased: &[LeasedMessage], cancel: &CancellationToken) {
    let (Some(hold), Some(first)) = (HOLD_AFTER_LEASE.get(), leased.first()) else {
        return;
    };
    tracing::error!(
        lane = %lane,
        lease = first.lease.0,
        messages = leased.len(),
        hold_ms = hold.as_millis() as u64,
        "{HOLDING_LEASE}"
    );
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(*hold) => {}
    }
}
