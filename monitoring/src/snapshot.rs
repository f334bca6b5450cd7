//! A gateway's figures at one moment, in plain values: what the gateway reads from its relayer,
//! store and peer protocol at scrape time and hands to [`crate::GatewayCollector`]. Label
//! values are configured names (chains, lanes, members), never message ids or addresses.

/// Everything one scrape exports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GatewaySnapshot {
    /// This gateway's member name.
    pub member: String,
    /// Whether every store query of this snapshot answered (store figures are left out when
    /// not).
    pub store_up: bool,
    /// Size of the store's files, in bytes (`None` when not a file store).
    pub store_size_bytes: Option<u64>,
    /// Per chain the gateway watches.
    pub chains: Vec<ChainFigures>,
    /// Per configured lane.
    pub lanes: Vec<LaneFigures>,
    /// Per other member: this gateway's link to it.
    pub peers: Vec<PeerFigures>,
    /// This gateway's peer server.
    pub peer_server: PeerServerFigures,
    /// The HTTP API's requests since the gateway started.
    pub api: Vec<ApiRouteFigures>,
    /// The store transactions since the gateway started, by handle and kind (none when the
    /// store does not time them).
    pub store_transactions: Vec<StoreTransactionFigures>,
    /// Envelope operations since the gateway started, by operation and outcome class.
    pub envelope_operations: Vec<crate::EnvelopeFigures>,
    /// Per configured anchoring (`[anchors.*]`).
    pub anchors: Vec<AnchorFigures>,
}

/// What one anchoring did since the gateway started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnchorFigures {
    /// The anchoring's name.
    pub anchoring: String,
    /// The anchored origin chain's name.
    pub origin: String,
    /// The public chain's name.
    pub chain: String,
    /// Anchor transactions broadcast.
    pub sent: u64,
    /// Of those, mined and successful.
    pub landed: u64,
    /// Attempts another member's anchor made stale.
    pub stale: u64,
    /// Attempts that failed otherwise.
    pub failed: u64,
    /// The last size the Anchor holds for the origin.
    pub anchored_size: u64,
}

/// One kind of store transaction (`read`, `write`) of one handle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreTransactionFigures {
    /// Whose handle (a fixed word: `pipeline`, `api`, `scrape`).
    pub handle: &'static str,
    /// The kind (a fixed word).
    pub kind: &'static str,
    /// Their durations, waiting for the connection included.
    pub latency: Histogram,
    /// Of those, failed.
    pub failures: u64,
}

/// API requests of one route template and method.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApiRouteFigures {
    /// The route's template (`/v1/messages/{id}`), or `unmatched`.
    pub route: String,
    /// The method (a fixed word: `GET`, `POST`, ..., `other`).
    pub method: &'static str,
    /// Responses by status code.
    pub statuses: Vec<(u16, u64)>,
    /// Time until each response started.
    pub latency: Histogram,
}

/// Requests of one method class to a chain's nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RpcFigures {
    /// The class (a fixed word).
    pub method: &'static str,
    /// Requests sent.
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Their durations.
    pub latency: Histogram,
}

/// What a chain's adapters observed of its nodes and what deliveries to it spent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeFigures {
    /// Highest head reported (`None`: not read).
    pub head_height: Option<u64>,
    /// Requests per method class.
    pub rpc: Vec<RpcFigures>,
    /// Reorganisations detected above the cursor.
    pub reorgs_above_cursor: u64,
    /// Reorganisations detected at or below the cursor.
    pub reorgs_below_cursor: u64,
    /// Mined delivery transactions.
    pub deliveries_mined: u64,
    /// Gas they used.
    pub delivery_gas: u64,
    /// Their cost in wei.
    pub delivery_fees_wei: f64,
    /// The deliverer's balance in wei, as last read (`None`: not read yet).
    pub deliverer_balance_wei: Option<f64>,
}

/// A latency histogram: cumulative counts at ascending upper bounds (seconds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// `(upper bound in seconds, observations at or below it)`, ascending, cumulative.
    pub buckets: Vec<(f64, u64)>,
    /// Observations in all.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
}

/// One origin chain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChainFigures {
    /// The chain's configured name.
    pub chain: String,
    /// Highest final block the watcher saw (`None` before its first batch).
    pub final_height: Option<u64>,
    /// The watcher's stored cursor (`None` before its first batch).
    pub cursor_height: Option<u64>,
    /// Leaves in the chain's log (from the store).
    pub log_leaves: Option<u64>,
    /// Messages the source yielded.
    pub observed: u64,
    /// Messages whose native proof verified.
    pub verified: u64,
    /// Messages newly accepted.
    pub accepted: u64,
    /// Failed source calls.
    pub source_errors: u64,
    /// Native proofs that failed.
    pub invalid_proofs: u64,
    /// The watcher stopped on a fault an operator must look at.
    pub halted: bool,
    /// Stage latencies by stage name (`watch`, `verify`, `append`).
    pub stages: Vec<(&'static str, Histogram)>,
    /// What the chain's adapters observed of its nodes.
    pub nodes: NodeFigures,
}

/// A checkpoint's size and age.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CheckpointFigures {
    /// Its log size.
    pub size: u64,
    /// Seconds since it was recorded.
    pub age_seconds: f64,
}

/// One configured validator of a lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValidatorFigures {
    /// The member it belongs to.
    pub member: String,
    /// Checkpoints of the lane it signed (store).
    pub checkpoints_signed: u64,
    /// Largest size it signed and how long ago it last signed (`None`: never).
    pub last_signed: Option<CheckpointFigures>,
    /// It signed two roots for one size on this lane.
    pub equivocated: bool,
}

/// Messages of a lane per delivery status (from the store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Waiting to be leased.
    pub pending: u64,
    /// Leased by a relayer.
    pub leased: u64,
    /// Submitted, not yet final.
    pub submitted: u64,
    /// Delivered.
    pub confirmed: u64,
    /// Given up.
    pub dead_letter: u64,
}

/// What the store says of a lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaneStoreFigures {
    /// Messages per status.
    pub messages: StatusCounts,
    /// Age of the oldest undelivered message (`None`: none waits).
    pub oldest_pending_age_seconds: Option<f64>,
    /// The last checkpoint this gateway signed.
    pub own_checkpoint: Option<CheckpointFigures>,
    /// The last checkpoint with the threshold of signatures.
    pub threshold_checkpoint: Option<CheckpointFigures>,
    /// Seconds since the last recorded delivery (`None` before the first).
    pub last_delivery_age_seconds: Option<f64>,
    /// Validators with equivocation evidence on the lane.
    pub equivocators: u64,
    /// Every configured validator, in configuration order.
    pub validators: Vec<ValidatorFigures>,
}

/// The pipeline's counters of a lane since the gateway started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LaneCounters {
    /// Checkpoints signed and recorded.
    pub checkpoints: u64,
    /// Signatures received from other members.
    pub member_signatures: u64,
    /// Of those, dropped.
    pub invalid_member_signatures: u64,
    /// Member signatures over another root.
    pub root_mismatches: u64,
    /// Equivocations caught.
    pub equivocations: u64,
    /// Submissions sent.
    pub submissions: u64,
    /// Messages sent in submissions.
    pub messages_submitted: u64,
    /// Messages found already delivered.
    pub duplicates: u64,
    /// Failed delivery rounds.
    pub submit_failures: u64,
    /// Messages confirmed delivered.
    pub confirmed: u64,
    /// Messages whose recipient failed.
    pub recipient_failures: u64,
    /// Submissions reverted or dropped.
    pub reverts: u64,
    /// Submitted messages taken over.
    pub taken_over: u64,
    /// New dead letters.
    pub dead_letters: u64,
    /// Submissions in flight now.
    pub in_flight: u64,
    /// Most in flight at once.
    pub max_in_flight: u64,
}

/// One configured lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaneFigures {
    /// The lane's configured name.
    pub lane: String,
    /// Its origin chain's name.
    pub origin: String,
    /// Its destination chain's name.
    pub destination: String,
    /// Signatures a checkpoint needs.
    pub threshold: u64,
    /// Validators configured.
    pub validators_configured: u64,
    /// Paused in the configuration.
    pub paused: bool,
    /// The store's figures (`None` when the store could not be read).
    pub store: Option<LaneStoreFigures>,
    /// The pipeline's counters.
    pub counters: LaneCounters,
    /// Stage latencies by stage name (`attest`, `submit`, `confirm`).
    pub stages: Vec<(&'static str, Histogram)>,
}

/// This gateway's client link to one other member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerFigures {
    /// The member's name.
    pub member: String,
    /// Subscribed to its signatures now.
    pub connected: bool,
    /// Subscriptions established.
    pub sessions: u64,
    /// Signatures received.
    pub signatures_received: u64,
    /// Failed attempts and broken streams.
    pub failures: u64,
    /// Cut-offs for protocol violations.
    pub violations: u64,
}

/// This gateway's peer server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerServerFigures {
    /// Connections accepted.
    pub accepted: u64,
    /// Handshakes refused.
    pub refused: u64,
    /// Connections closed for being over a limit.
    pub over_limit: u64,
    /// Signature streams open now.
    pub streams_open: u64,
}
