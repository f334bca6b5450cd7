//! Every metric family a gateway exports: name, type, labels and help, in one table. The
//! collector builds families only from it, `monitoring/README.md` documents every row (a test
//! checks), and names never change once released.

/// A family's Prometheus type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only ever goes up (resets when the gateway restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl Kind {
    /// The Prometheus type's name as the exposition format writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// What the table says of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilySpec {
    /// The full name (`causeway_` prefix, base unit, `_total` for counters).
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Its label names, in order. Values are only ever configured names (chains, lanes,
    /// members) or fixed words: never a message id or an address.
    pub labels: &'static [&'static str],
    /// One line for people.
    pub help: &'static str,
}

macro_rules! families {
    ($($id:ident = $name:literal, $kind:ident, [$($label:literal),*], $help:literal;)+) => {
        /// One exported metric family (see [`Family::spec`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Family {
            $(#[doc = $help] $id,)+
        }

        impl Family {
            /// Every family, in table order.
            pub const ALL: &'static [Family] = &[$(Family::$id),+];

            /// Its name, type, labels and help.
            pub const fn spec(self) -> FamilySpec {
                match self {
                    $(Family::$id => FamilySpec {
                        name: $name,
                        kind: Kind::$kind,
                        labels: &[$($label),*],
                        help: $help,
                    },)+
                }
            }
        }
    };
}

families! {
    // The gateway.
    BuildInfo = "causeway_build_info", Gauge, ["member", "version"],
        "Always 1: the running build's version and this gateway's member name.";
    StoreUp = "causeway_store_up", Gauge, [],
        "1 when this scrape read the store, 0 when a store query failed (the store's families are then left out).";
    StoreSize = "causeway_store_size_bytes", Gauge, [],
        "Size of the store's files on disk (SQLite: the database and its write-ahead log).";
    StoreTransactionDuration = "causeway_store_transaction_duration_seconds", Histogram, ["handle", "kind"],
        "Duration of one store transaction by handle (pipeline, api, scrape) and kind (read or write; waiting for its connection and, for a write, the durable commit included).";
    StoreTransactionFailures = "causeway_store_transaction_failures_total", Counter, ["handle", "kind"],
        "Store transactions that failed (busy, I/O, constraint), by handle and kind.";
    ScrapeDuration = "causeway_scrape_duration_seconds", Gauge, [],
        "How long gathering this scrape's figures took (store queries included).";
    // Chains (origins this gateway watches).
    ChainFinalHeight = "causeway_chain_final_height", Gauge, ["chain"],
        "Highest final block the watcher saw on the chain, under its configured finality rule.";
    ChainCursorHeight = "causeway_chain_cursor_height", Gauge, ["chain"],
        "Last block of the chain whose events are all in the store (the watcher's durable cursor).";
    ChainWatchLag = "causeway_chain_watch_lag_blocks", Gauge, ["chain"],
        "Final blocks the watcher has still to read: final height minus cursor height.";
    LogLeaves = "causeway_log_leaves", Gauge, ["chain"],
        "Leaves in the chain's Merkle log: messages accepted from it, over every run.";
    ChainObserved = "causeway_chain_messages_observed_total", Counter, ["chain"],
        "Messages the chain's source yielded.";
    ChainVerified = "causeway_chain_messages_verified_total", Counter, ["chain"],
        "Messages whose native proof verified.";
    ChainAccepted = "causeway_chain_messages_accepted_total", Counter, ["chain"],
        "Messages newly accepted into the store and the chain's log.";
    ChainSourceErrors = "causeway_chain_source_errors_total", Counter, ["chain"],
        "Failed source calls to the chain's nodes (retried with backoff).";
    ChainInvalidProofs = "causeway_chain_invalid_proofs_total", Counter, ["chain"],
        "Native proofs that failed to verify (each halts the chain's watcher).";
    ChainHalted = "causeway_chain_halted", Gauge, ["chain"],
        "1 when the chain's watcher stopped on a fault an operator must look at (invalid proof, reorg below the cursor, store failure; the gateway log says why).";
    OriginStageDuration = "causeway_origin_stage_duration_seconds", Histogram, ["chain", "stage"],
        "Duration of one step of an origin's stages: watch (one source call), verify (one batch's proofs), append (one store transaction).";
    // Lanes.
    LaneInfo = "causeway_lane_info", Gauge, ["lane", "origin", "destination"],
        "Always 1: the lane's origin and destination chains (join on lane).";
    LaneThreshold = "causeway_lane_threshold_signatures", Gauge, ["lane"],
        "Signatures of distinct validators a checkpoint of the lane needs.";
    LaneValidators = "causeway_lane_validators", Gauge, ["lane"],
        "Validators configured for the lane.";
    LanePaused = "causeway_lane_paused", Gauge, ["lane"],
        "1 when the lane is paused in the configuration.";
    LaneMessages = "causeway_lane_messages", Gauge, ["lane", "status"],
        "Messages of the lane per delivery status (pending, leased, submitted, confirmed, dead_letter), from the store.";
    LaneBacklog = "causeway_lane_backlog_messages", Gauge, ["lane"],
        "Messages of the lane not yet delivered: pending, leased and submitted.";
    LaneOldestPendingAge = "causeway_lane_oldest_pending_age_seconds", Gauge, ["lane"],
        "Age of the lane's oldest undelivered message (0 when none waits).";
    LaneCheckpointSize = "causeway_lane_checkpoint_size_leaves", Gauge, ["lane", "kind"],
        "Size of the lane's last checkpoint: signed by this gateway (kind own) or with the threshold of signatures (kind threshold).";
    LaneCheckpointAge = "causeway_lane_checkpoint_age_seconds", Gauge, ["lane", "kind"],
        "Age of the lane's last checkpoint of each kind (own, threshold).";
    LaneLastDeliveryAge = "causeway_lane_last_delivery_age_seconds", Gauge, ["lane"],
        "Age of the lane's last recorded delivery (absent before the first).";
    LaneEquivocators = "causeway_lane_equivocating_validators", Gauge, ["lane"],
        "Validators with equivocation evidence on the lane (two roots for one size): their signatures no longer count.";
    ValidatorCheckpoints = "causeway_validator_checkpoints_signed_total", Counter, ["lane", "member"],
        "Checkpoints of the lane each configured validator signed, as recorded in the store.";
    ValidatorLastSize = "causeway_validator_last_signed_size_leaves", Gauge, ["lane", "member"],
        "Largest checkpoint size of the lane each configured validator signed.";
    ValidatorLastAge = "causeway_validator_last_signed_age_seconds", Gauge, ["lane", "member"],
        "Time since each configured validator's last recorded signature on the lane.";
    ValidatorEquivocated = "causeway_validator_equivocated", Gauge, ["lane", "member"],
        "1 when the validator signed two roots for one size on the lane.";
    LaneCheckpointsSigned = "causeway_lane_checkpoints_signed_total", Counter, ["lane"],
        "Checkpoints this gateway signed and recorded on the lane.";
    LaneMemberSignatures = "causeway_lane_member_signatures_total", Counter, ["lane"],
        "Signatures received from other members' gateways for the lane.";
    LaneMemberSignaturesInvalid = "causeway_lane_member_signatures_invalid_total", Counter, ["lane"],
        "Of those, dropped: malformed, of another lane, or not of a validator of the lane.";
    LaneRootMismatches = "causeway_lane_root_mismatches_total", Counter, ["lane"],
        "Member signatures over another root than this gateway's own for that size.";
    LaneEquivocations = "causeway_lane_equivocations_total", Counter, ["lane"],
        "Equivocations caught on the lane (a validator signing two roots for one size).";
    LaneSubmissions = "causeway_lane_submissions_total", Counter, ["lane"],
        "Submissions (transactions) sent to the lane's destination.";
    LaneMessagesSubmitted = "causeway_lane_messages_submitted_total", Counter, ["lane"],
        "Messages sent in those submissions.";
    LaneDuplicates = "causeway_lane_duplicates_total", Counter, ["lane"],
        "Messages found already delivered at the destination (by another member) before a submission.";
    LaneSubmitFailures = "causeway_lane_submit_failures_total", Counter, ["lane"],
        "Delivery rounds that failed at the destination (status read or submit; retried with backoff).";
    LaneConfirmed = "causeway_lane_messages_confirmed_total", Counter, ["lane"],
        "Messages confirmed delivered.";
    LaneRecipientFailures = "causeway_lane_recipient_failures_total", Counter, ["lane"],
        "Delivered messages whose recipient failed (recorded at the destination, retryable there).";
    LaneReverts = "causeway_lane_reverts_total", Counter, ["lane"],
        "Submissions that reverted or were dropped (their messages go back to pending).";
    LaneTakenOver = "causeway_lane_taken_over_total", Counter, ["lane"],
        "Submitted messages of a previous run or another instance followed to their outcome.";
    LaneDeadLetters = "causeway_lane_dead_letters_total", Counter, ["lane"],
        "Messages that became dead letters (attempts used up).";
    LaneInFlight = "causeway_lane_submissions_in_flight", Gauge, ["lane"],
        "Submissions in flight now.";
    LaneInFlightMax = "causeway_lane_submissions_in_flight_max", Gauge, ["lane"],
        "Most submissions in flight at once since the gateway started.";
    LaneStageDuration = "causeway_lane_stage_duration_seconds", Histogram, ["lane", "stage"],
        "Duration of one step of a lane's stages: attest (sign and record a checkpoint), submit (one submit call), confirm (a submission from sent to settled).";
    // Chains' nodes, as the adapters saw them (EVM; request path counted once per request).
    ChainHeadHeight = "causeway_chain_head_height", Gauge, ["chain"],
        "Highest head block a node of the chain reported (chains whose finality rule reads the head).";
    ChainHeadLag = "causeway_chain_head_lag_blocks", Gauge, ["chain"],
        "Blocks between the chain's head and the watcher's cursor: how far the gateway is behind the chain's tip.";
    ChainRpcRequests = "causeway_chain_rpc_requests_total", Counter, ["chain", "method"],
        "Requests to the chain's nodes by method class (block, logs, receipt, proof, call, account, send, other); each attempt of a retried call counts.";
    ChainRpcErrors = "causeway_chain_rpc_errors_total", Counter, ["chain", "method"],
        "Of those, failed: an error answer (a revert excepted), a transport failure or a timeout.";
    ChainRpcDuration = "causeway_chain_rpc_duration_seconds", Histogram, ["chain", "method"],
        "Duration of one request to the chain's nodes, by method class.";
    ChainReorgs = "causeway_chain_reorgs_total", Counter, ["chain", "depth"],
        "Reorganisations the source detected: above_cursor (scan repeated) or below_cursor (the watcher halts).";
    ChainDeliveriesMined = "causeway_chain_deliveries_mined_total", Counter, ["chain"],
        "Delivery transactions this gateway sent to the chain that were mined (success or revert).";
    ChainDeliveryGas = "causeway_chain_delivery_gas_total", Counter, ["chain"],
        "Gas those transactions used.";
    ChainDeliveryFees = "causeway_chain_delivery_fees_wei_total", Counter, ["chain"],
        "What those transactions cost, in wei (gas used times effective gas price).";
    ChainDelivererBalance = "causeway_chain_deliverer_balance_wei", Gauge, ["chain"],
        "Balance of this gateway's deliverer account on the chain, in wei, as read after its last mined delivery.";
    // The HTTP API.
    ApiRequests = "causeway_api_requests_total", Counter, ["route", "method", "status"],
        "API requests by route template (never the raw path; unmatched for none), method and status code.";
    ApiRequestDuration = "causeway_api_request_duration_seconds", Histogram, ["route", "method"],
        "Time until an API response started, by route template and method.";
    // Private messages' envelopes.
    EnvelopeOperations = "causeway_envelope_operations_total", Counter, ["operation", "outcome"],
        "Envelope operations by operation (fetch, read, decrypt, grant, revoke, disclosure) and outcome class (ok, denied, not_found, rejected, error).";
    // Public anchoring.
    AnchorInfo = "causeway_anchor_info", Gauge, ["anchoring", "origin", "chain"],
        "Always 1: an anchoring's origin chain and the public chain its Anchor runs on (join on anchoring).";
    AnchorsSent = "causeway_anchors_sent_total", Counter, ["anchoring"],
        "Anchor transactions this gateway broadcast.";
    AnchorsLanded = "causeway_anchors_landed_total", Counter, ["anchoring"],
        "Of those, mined and successful.";
    AnchorsStale = "causeway_anchors_stale_total", Counter, ["anchoring"],
        "Anchors another member landed first (reverted or refused as stale: harmless).";
    AnchorsFailed = "causeway_anchors_failed_total", Counter, ["anchoring"],
        "Anchor attempts that failed otherwise (refused with a reason, reverted, node errors; retried with backoff), and reads of the Anchor that failed on every endpoint.";
    AnchoredSize = "causeway_anchored_size_leaves", Gauge, ["anchoring"],
        "The last log size the Anchor holds for the anchoring's origin, as last read (0: nothing anchored).";
    // Peers.
    PeerConnected = "causeway_peer_connected", Gauge, ["member"],
        "1 while this gateway is subscribed to the member's signature stream.";
    PeerSessions = "causeway_peer_sessions_total", Counter, ["member"],
        "Subscriptions to the member established.";
    PeerSignaturesReceived = "causeway_peer_signatures_received_total", Counter, ["member"],
        "Signatures received from the member.";
    PeerFailures = "causeway_peer_failures_total", Counter, ["member"],
        "Failed connection attempts to the member and broken streams.";
    PeerViolations = "causeway_peer_violations_total", Counter, ["member"],
        "Times the member was cut off for a protocol violation.";
    PeerServerConnections = "causeway_peer_server_connections_total", Counter, ["result"],
        "Connections to this gateway's peer server by result: accepted, refused (handshake), over_limit.";
    PeerServerStreams = "causeway_peer_server_streams_open", Gauge, [],
        "Signature streams this gateway's peer server serves now.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let mut seen = std::collections::BTreeSet::new();
        for f in Family::ALL {
            let s = f.spec();
            assert!(seen.insert(s.name), "{} twice", s.name);
            assert!(s.name.starts_with("causeway_"), "{}", s.name);
            assert!(
                s.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                s.name
            );
            match s.kind {
                Kind::Counter => assert!(s.name.ends_with("_total"), "{}", s.name),
                Kind::Histogram => assert!(s.name.ends_with("_seconds"), "{}", s.name),
                Kind::Gauge => assert!(!s.name.ends_with("_total"), "{}", s.name),
            }
            for label in s.labels {
                assert!(
                    !["id", "message", "message_id", "address", "validator"].contains(label),
                    "{}: unbounded label {label}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn the_readme_documents_every_family() {
        let readme = include_str!("../README.md");
        for f in Family::ALL {
            let s = f.spec();
            assert!(
                readme.contains(&format!("`{}`", s.name)),
                "monitoring/README.md does not document {}",
                s.name
            );
        }
    }
}
