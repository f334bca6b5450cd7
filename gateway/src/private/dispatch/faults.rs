//! The dispatcher's test fault (devnet builds only: `CAUSEWAY_DEVNET_FAULT=hold-after-dispatch:MS`,
//! read by `causeway run`; a production build compiles none of this). A multi-process test
//! SIGKILLs a replica in the window where a dispatch landed on chain and is not yet recorded:
//! the replica that takes the request over must find it there, not send it again.

use std::sync::OnceLock;
use std::time::Duration;

use causeway_proofs::{Hash32, MessageId};
use causeway_relayer::store::SendRequestId;

/// The line a dispatcher logs when it starts holding a landed dispatch unrecorded.
pub const HOLDING_DISPATCH: &str = "test fault: holding a landed dispatch unrecorded";

static HOLD_AFTER_DISPATCH: OnceLock<Duration> = OnceLock::new();

/// From now on, in this process, every dispatch that landed is held for `hold` (after
/// logging [`HOLDING_DISPATCH`]) before it is recorded. The first call decides.
pub fn hold_after_dispatch(hold: Duration) {
    let _ = HOLD_AFTER_DISPATCH.set(hold);
}

/// The fault's step between a dispatch landing and its record.
pub(super) async fn after_dispatch(request: SendRequestId, message_id: MessageId, tx: Hash32) {
    let Some(hold) = HOLD_AFTER_DISPATCH.get() else {
        return;
    };
    tracing::error!(
        %request, %message_id, %tx, hold_ms = hold.as_millis() as u64,
        "{HOLDING_DISPATCH}"
    );
    tokio::time::sleep(*hold).await;
}
