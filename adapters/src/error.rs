//! The one error type of `causeway-adapters`: every way talking to a chain can fail, with the
//! facts the relayer needs to decide between "retry", "re-prepare" and "stop the lane".

use std::time::Duration;

use crate::chain::{BlockId, RevertReason};

/// A boxed error from a chain client (HTTP, JSON-RPC, gRPC), kept as the `source` of
/// [`Error::RpcUnavailable`] so that the whole chain of causes stays inspectable.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a chain operation failed. Variants name what went wrong and carry the facts to act on;
/// [`Error::is_retryable`] says whether trying the same operation again later can succeed.
///
/// `endpoint` fields hold only the scheme, host and port of an RPC URL (see
/// [`redact_endpoint`]): provider URLs often embed API keys, which must never reach logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- transport ----------------------------------------------------------------------------
    /// The node could not be reached or answered with something that is not a JSON-RPC reply
    /// (connection refused, TLS failure, HTTP 5xx, truncated body).
    #[error("RPC endpoint {endpoint} is unavailable")]
    RpcUnavailable {
        /// The endpoint, without credentials.
        endpoint: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// The node refused the request for exceeding its rate limit (HTTP 429 or an equivalent
    /// JSON-RPC error).
    #[error("RPC endpoint {endpoint} is rate limiting us (retry after {retry_after:?})")]
    RateLimited {
        /// The endpoint, without credentials.
        endpoint: String,
        /// How long the node asked us to wait, when it said so.
        retry_after: Option<Duration>,
    },
    /// The request took longer than the configured timeout.
    #[error("RPC call {method} to {endpoint} timed out")]
    Timeout {
        /// The endpoint, without credentials.
        endpoint: String,
        /// The JSON-RPC method (or operation) that timed out.
        method: &'static str,
    },
    /// A log query over too many blocks or with too many results for this node.
    #[error("log query over blocks {from}..={to} is too large for the node: {message}")]
    RangeTooLarge {
        /// First block of the refused range.
        from: u64,
        /// Last block of the refused range.
        to: u64,
        /// A block count the node suggested, when its message carried one.
        suggested: Option<u64>,
        /// The node's message.
        message: String,
    },
    /// A JSON-RPC error reply the adapter has no better name for.
    #[error("RPC endpoint {endpoint} answered {method} with error {code}: {message}")]
    Rpc {
        /// The endpoint, without credentials.
        endpoint: String,
        /// The JSON-RPC method.
        method: &'static str,
        /// The JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The node answered without data it must have (a block it reported as final, the
    /// receipts of a block holding a log): a lagging or load-balanced node. Retryable.
    #[error("node returned no {what}")]
    MissingData {
        /// What was missing, e.g. "block 1234".
        what: String,
    },

    // ---- source -------------------------------------------------------------------------------
    /// The block the cursor names is no longer canonical: a block the relayer already treated
    /// as final was reorganised away. Not retryable; the lane must stop and raise an alert,
    /// because messages from the lost block may already have been attested.
    #[error(
        "reorganisation below the cursor: block {height} was {expected}, the chain now has {actual}"
    )]
    ReorgBelowCursor {
        /// Height of the block that changed.
        height: u64,
        /// The block id the cursor (or the adapter's window) recorded.
        expected: BlockId,
        /// The block id the chain now has at that height.
        actual: BlockId,
    },
    /// The chain changed under a scan above the cursor (a log from another fork than the block
    /// fetched next): nothing was yielded, the same cursor can simply be scanned again.
    #[error("chain reorganised during a scan at block {height} ({expected} became {actual})")]
    ReorgAboveCursor {
        /// Height where the scan saw two different blocks.
        height: u64,
        /// What the scan saw first.
        expected: BlockId,
        /// What it saw afterwards.
        actual: BlockId,
    },
    /// An event that claims to be a Causeway message but was emitted by another contract than
    /// the configured Outbox (the pNetwork failure). Sources ignore such logs and count them;
    /// verifiers refuse a proof of one with this error.
    #[error("event emitted by {emitter}, not by the configured outbox {expected}")]
    ForeignEmitter {
        /// Who emitted it.
        emitter: String,
        /// The configured Outbox.
        expected: String,
    },
    /// A block the node served fails verification (data hash, orderer signature, endorsements,
    /// hash chain to the cursor): the node is faulty or hostile. Nothing from the block was
    /// yielded; retryable, since another attempt (or another peer) may serve the real block.
    #[error("block {number} from {endpoint} failed verification: {reason}")]
    InvalidBlock {
        /// The endpoint, without credentials.
        endpoint: String,
        /// The block's number.
        number: u64,
        /// What failed.
        reason: String,
    },
    /// A native source proof that does not prove what it claims.
    #[error("invalid native proof: {reason}")]
    InvalidNativeProof {
        /// What failed.
        reason: String,
    },
    /// Fabric data (a block, transaction, identity, signature, endorsement or native proof)
    /// that failed to decode or verify, with its typed reason from `causeway_proofs::fabric`.
    /// Its message and causes are the [`FabricError`](causeway_proofs::fabric::FabricError)'s,
    /// printed once. Not retryable.
    #[error(transparent)]
    Fabric(causeway_proofs::fabric::FabricError),
    /// FISCO BCOS data failed to decode or verify (a header below the sealer quorum, a receipt
    /// proof that does not reach the receipts root, a signature of the wrong crypto mode…).
    /// Not retryable.
    #[error(transparent)]
    Fisco(causeway_proofs::fisco::FiscoError),

    // ---- destination --------------------------------------------------------------------------
    /// The destination refused the batch (in simulation or on chain) with `reason`.
    #[error("destination reverted: {reason}")]
    Reverted {
        /// The decoded revert reason.
        reason: RevertReason,
    },
    /// A single message needs more gas than one transaction may use.
    #[error("delivery needs {needed} gas, more than the budget of {budget} per transaction")]
    GasBudgetExceeded {
        /// Gas the node estimated.
        needed: u64,
        /// The configured budget.
        budget: u64,
    },
    /// The node says the nonce was already used; the nonce manager resynchronised. Retryable.
    #[error("nonce {nonce} of {account} is already used")]
    NonceTooLow {
        /// The sending account.
        account: String,
        /// The nonce that was refused.
        nonce: u64,
    },
    /// The node refused a transaction as underpriced (a replacement below the required bump,
    /// or fees below the pool's floor). Retryable with higher fees.
    #[error("transaction with nonce {nonce} is underpriced: {message}")]
    Underpriced {
        /// The nonce of the refused transaction.
        nonce: u64,
        /// The node's message.
        message: String,
    },
    /// The sending account cannot pay for the transaction. Not retryable until it is funded.
    #[error("account {account} has insufficient funds for gas")]
    InsufficientFunds {
        /// The sending account.
        account: String,
    },
    /// A delivery batch that cannot be submitted as it is (empty, or proofs against another
    /// log size than the checkpoint's).
    #[error("invalid delivery batch: {reason}")]
    InvalidBatch {
        /// What is wrong with it.
        reason: String,
    },
    /// A submission handle this adapter did not produce (another family, or garbled).
    #[error("invalid submission handle: {reason}")]
    InvalidHandle {
        /// What is wrong with it.
        reason: String,
    },
    /// A signing key that cannot be used.
    #[error("signer error: {reason}")]
    Signer {
        /// What failed.
        reason: String,
    },

    // ---- state, configuration, decoding ------------------------------------------------------
    /// A proven contract call that halts (out of gas, an invalid opcode, a stack fault) when
    /// executed at `height`: the chain itself gives no answer to it, so it is the chain's
    /// refusal, not a malformed query.
    #[error("the call halts at block {height}: {reason}")]
    CallHalted {
        /// The block the call was run at.
        height: u64,
        /// The EVM's reason (`OutOfGas(Basic)`, `InvalidFEOpcode`, …).
        reason: String,
    },
    /// A state query this adapter cannot answer as asked (bad contract identifier or key).
    #[error("invalid state query: {reason}")]
    InvalidQuery {
        /// What is wrong with it.
        reason: String,
    },
    /// An adapter configuration that cannot work (bad URL, zero confirmations where refused).
    #[error("invalid adapter configuration: {reason}")]
    Config {
        /// What is wrong with it.
        reason: String,
    },
    /// A Fabric gateway returned from Endorse a prepared transaction that is not the one we
    /// proposed (or that does not decode): it was refused before anything was signed or
    /// submitted.
    #[error("Fabric gateway {endpoint} prepared a transaction we did not propose: {reason}")]
    PreparedTransactionRefused {
        /// The gateway peer's endpoint.
        endpoint: String,
        /// What differs from our proposal.
        #[source]
        reason: Box<crate::fabric::FabricError>,
    },
    /// The caller's [`Recorder`](crate::chain::Recorder) could not record a signed submission,
    /// so it was not broadcast.
    #[error("the signed submission was not recorded, so it was not sent: {reason}")]
    NotRecorded {
        /// Why, from the recorder.
        reason: String,
    },
    /// A value from the chain or a stored handle that cannot be decoded.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A message, checkpoint or proof rejected by `causeway_proofs`.
    #[error(transparent)]
    Proof(#[from] causeway_proofs::Error),
}

/// Fabric's offline checks keep their typed error ([`Error::Fabric`]), except the two kinds
/// every chain family reports alike: an event of a look-alike emitter
/// ([`Error::ForeignEmitter`], as for an EVM log of another contract) and a verifier
/// configuration that cannot work ([`Error::Config`]).
impl From<causeway_proofs::fabric::FabricError> for Error {
    fn from(error: causeway_proofs::fabric::FabricError) -> Self {
        use causeway_proofs::fabric::FabricError;
        match error {
            FabricError::ForeignEmitter { emitter, expected } => {
                Error::ForeignEmitter { emitter, expected }
            }
            FabricError::Config { reason } => Error::Config { reason },
            other => Error::Fabric(other),
        }
    }
}

impl Error {
    /// Whether the same operation may succeed if tried again later (after a backoff), without
    /// anything else changing: transport failures, rate limits, timeouts, lagging nodes, a
    /// scan that raced a reorganisation, a nonce or fee the adapter has since corrected. A
    /// reorganisation below the cursor, an invalid proof or a revert are never retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RpcUnavailable { .. }
                | Error::RateLimited { .. }
                | Error::Timeout { .. }
                | Error::RangeTooLarge { .. }
                | Error::MissingData { .. }
                | Error::InvalidBlock { .. }
                | Error::ReorgAboveCursor { .. }
                | Error::NonceTooLow { .. }
                | Error::Underpriced { .. }
        ) || matches!(self, Error::Rpc { code, .. } if is_server_side_code(*code))
    }

    /// How long the node asked us to wait before the next request, if it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// JSON-RPC codes that mean "the server had a problem" rather than "your request is wrong":
/// -32603 internal error and the -32000..=-32099 server range minus the codes nodes use for
/// definite refusals (-32000 is geth's catch-all, often a definite refusal such as "execution
/// reverted", so it is not included).
pub(crate) fn is_server_side_code(code: i64) -> bool {
    code == -32603 || code == -32002 || code == -32004 || code == -32005
}

/// The scheme, host and port of an endpoint URL, without user info, path or query (where
/// hosted nodes put API keys). An unparseable URL becomes `"<invalid url>"`.
pub fn redact_endpoint(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<invalid url>".to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() {
        return "<invalid url>".to_owned();
    }
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_lose_credentials_paths_and_queries() {
        assert_eq!(
            redact_endpoint("https://user:secret@eth.example.com:8545/v3/KEY?x=1"),
            "https://eth.example.com:8545"
        );
        assert_eq!(
            redact_endpoint("http://127.0.0.1:8545"),
            "http://127.0.0.1:8545"
        );
        assert_eq!(redact_endpoint("no scheme"), "<invalid url>");
        assert_eq!(redact_endpoint("http://"), "<invalid url>");
    }

    #[test]
    fn retryable_classification() {
        let ep = || "http://x".to_owned();
        assert!(
            Error::RpcUnavailable {
                endpoint: ep(),
                source: "refused".into()
            }
            .is_retryable()
        );
        assert!(
            Error::RateLimited {
                endpoint: ep(),
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            Error::Timeout {
                endpoint: ep(),
                method: "eth_getLogs"
            }
            .is_retryable()
        );
        assert!(
            Error::Rpc {
                endpoint: ep(),
                method: "eth_call",
                code: -32603,
                message: "internal".into()
            }
            .is_retryable()
        );
        assert!(
            !Error::Rpc {
                endpoint: ep(),
                method: "eth_call",
                code: -32602,
                message: "invalid params".into()
            }
            .is_retryable()
        );
        let id = BlockId::new(vec![1; 32]);
        assert!(
            !Error::ReorgBelowCursor {
                height: 1,
                expected: id.clone(),
                actual: id.clone()
            }
            .is_retryable()
        );
        assert!(
            Error::ReorgAboveCursor {
                height: 1,
                expected: id.clone(),
                actual: id
            }
            .is_retryable()
        );
        assert!(
            !Error::Reverted {
                reason: RevertReason::InvalidProof
            }
            .is_retryable()
        );
        assert!(!Error::InvalidNativeProof { reason: "x".into() }.is_retryable());
        assert!(!Error::Fabric(causeway_proofs::fabric::FabricError::BadSignature).is_retryable());
        assert!(
            !Error::InsufficientFunds {
                account: "0x".into()
            }
            .is_retryable()
        );
    }

    /// A Fabric error keeps its type through the adapter's error, and `{err:#}` (which walks
    /// `source()`) prints its message and each cause once.
    #[test]
    fn fabric_errors_stay_typed_and_print_each_cause_once() {
        use std::error::Error as _;

        use causeway_proofs::fabric::FabricError;
        use causeway_proofs::fabric::proto::common::Block;

        let err = Error::from(FabricError::HighS);
        assert!(matches!(err, Error::Fabric(FabricError::HighS)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "signature has a high S value, which Fabric refuses"
        );

        let decode = causeway_proofs::fabric::decode::<Block>(&[0xff], || "common.Block".into())
            .expect_err("0xff is no protobuf");
        let err = Error::from(decode);
        assert!(
            matches!(&err, Error::Fabric(FabricError::Decode { what, .. }) if what == "common.Block"),
            "{err:?}"
        );
        // Each cause appears once in the whole chain of messages.
        let mut chain = vec![err.to_string()];
        let mut cause = err.source();
        while let Some(c) = cause {
            chain.push(c.to_string());
            cause = c.source();
        }
        let cause = chain.last().expect("at least the error itself").clone();
        let printed = chain.join(": ");
        assert_eq!(printed.matches(cause.as_str()).count(), 1, "{printed}");

        // The two kinds every family reports alike keep their chain-neutral variants.
        let foreign = Error::from(FabricError::ForeignEmitter {
            emitter: "chaincode `copycat`".into(),
            expected: "chaincode `causeway_outbox`".into(),
        });
        assert!(
            matches!(foreign, Error::ForeignEmitter { .. }),
            "{foreign:?}"
        );
        let config = Error::from(FabricError::Config {
            reason: "no channel".into(),
        });
        assert!(matches!(config, Error::Config { .. }), "{config:?}");
    }
}
