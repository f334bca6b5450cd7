//! `Query`: cross-ledger state queries forwarded between member gateways.
//!
//! A gateway asked (by its API) about a chain it does not serve forwards the query to the members
//! that serve it. The server side hands the query to a [`QuerySource`] (the gateway's chains) with
//! the name of the authenticated member that asked: the source answers only from chains it
//! serves itself and never forwards again, so a query travels at most one hop. The client side,
//! [`QueryForwarder`], dials one member with this gateway's certificate (through the same
//! per-member channels as envelope fetches), checks the server is that member, and bounds the
//! answer's size. Nothing in an answer is trusted: the caller checks what the proof proves.

use std::future::Future;
use std::pin::Pin;

use causeway_adapters::ReadKind;
use causeway_proofs::Domain;
use tonic::Status;

use crate::config::PeerConfig;
use crate::envelopes::EnvelopeFetcher;
use crate::wire::proto;

/// A query as it travels between members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedQuery {
    /// The chain's consortium domain.
    pub domain: Domain,
    /// The contract (EVM, FISCO BCOS: its `0x` address; Fabric: `channel/chaincode`).
    pub contract: String,
    /// The key within it (EVM: a 32-byte slot; FISCO BCOS: call data; Fabric: a JSON call).
    pub key: Vec<u8>,
    /// The height to read at; `None`: the latest final block.
    pub height: Option<u64>,
    /// What the key is.
    pub kind: ReadKind,
}

/// Why a [`QuerySource`] gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryRefusal {
    /// This gateway does not serve the chain.
    #[error("this gateway serves no chain of domain {domain}")]
    NotServed {
        /// The domain asked for.
        domain: Domain,
    },
    /// The query is malformed for the chain's family.
    #[error("invalid query: {reason}")]
    Invalid {
        /// What is wrong with it.
        reason: String,
    },
    /// The chain refused the read (a call that reverts, a block it does not have): an answer
    /// about the query, not a failure of the member.
    #[error("the chain refused the read: {reason}")]
    Refused {
        /// What the chain said.
        reason: String,
    },
    /// The chain could not answer now (its node unreachable, its proof not verifying).
    #[error("the chain could not answer: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
    },
}

/// What [`QuerySource::query`] returns: the answer's JSON.
pub type QueryFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, QueryRefusal>> + Send + 'a>>;

/// Where the peer server answers forwarded queries (implemented by the gateway over its chains).
pub trait QuerySource: Send + Sync + 'static {
    /// Answers `query` for `member` from a chain this gateway serves itself (never forwarding
    /// it again), as the API's JSON answer.
    fn query(&self, member: &str, query: ForwardedQuery) -> QueryFuture<'_>;
}

/// Decides a `Query` call.
pub(crate) async fn serve(
    source: &dyn QuerySource,
    member: &str,
    request: proto::QueryRequest,
) -> Result<proto::QueryReply, Status> {
    let query = ForwardedQuery {
        domain: Domain(request.domain),
        contract: request.contract,
        key: request.key,
        height: request.height,
        kind: match proto::QueryKind::try_from(request.kind) {
            Ok(proto::QueryKind::Storage) => ReadKind::Storage,
            Ok(proto::QueryKind::Call) => ReadKind::Call,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "unknown query kind {}",
                    request.kind
                )));
            }
        },
    };
    match source.query(member, query).await {
        Ok(answer) => Ok(proto::QueryReply { answer }),
        Err(QueryRefusal::NotServed { domain }) => Err(Status::not_found(format!(
            "this gateway serves no chain of domain {domain}"
        ))),
        Err(QueryRefusal::Invalid { reason }) => Err(Status::invalid_argument(reason)),
        // FAILED_PRECONDITION: the chain's state does not allow the read (it reverts, the block
        // is not there); the member answered, so the asker must not try another one.
        Err(QueryRefusal::Refused { reason }) => Err(Status::failed_precondition(reason)),
        Err(QueryRefusal::Unavailable { reason }) => Err(Status::unavailable(reason)),
    }
}

/// Why a forwarded query returned no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// The member found the query malformed.
    #[error("member {member} refused the query: {reason}")]
    Invalid {
        /// The member asked.
        member: String,
        /// Its reason.
        reason: String,
    },
    /// The member's chain refused the read (a call that reverts, a block it does not have).
    #[error("member {member}'s chain refused the read: {reason}")]
    Refused {
        /// The member asked.
        member: String,
        /// The chain's reason.
        reason: String,
    },
    /// No such member in the configuration.
    #[error("no member {member} is configured")]
    UnknownMember {
        /// The name asked for.
        member: String,
    },
    /// Connecting, the call or the member's chain failed (retry later).
    #[error("forwarding to member {member} failed: {reason}")]
    Failed {
        /// The member asked.
        member: String,
        /// What failed.
        reason: String,
    },
}

/// Forwards queries to the other members.
#[derive(Clone, Debug)]
pub struct QueryForwarder {
    calls: EnvelopeFetcher,
}

impl QueryForwarder {
    /// A forwarder to the members of `config` other than this gateway's own.
    pub fn new(config: &PeerConfig) -> crate::Result<Self> {
        Ok(QueryForwarder {
            calls: EnvelopeFetcher::new(config)?,
        })
    }

    /// The other members' names, sorted.
    pub fn members(&self) -> Vec<String> {
        self.calls.members()
    }

    /// `member`'s answer (its JSON) to `query`: `Ok(None)` when it does not serve the chain.
    pub async fn query(
        &self,
        member: &str,
        query: &ForwardedQuery,
    ) -> Result<Option<Vec<u8>>, ForwardError> {
        let failed = |reason: String| ForwardError::Failed {
            member: member.to_owned(),
            reason,
        };
        let channel = self.calls.channel(member).await.map_err(|e| match e {
            crate::FetchError::UnknownMember { member } => ForwardError::UnknownMember { member },
            other => failed(other.to_string()),
        })?;
        let limits = self.calls.limits();
        let mut client = proto::peer_client::PeerClient::new(channel)
            .max_decoding_message_size(limits.max_envelope_size)
            .max_encoding_message_size(limits.max_message_size);
        let reply = client
            .query(proto::QueryRequest {
                domain: query.domain.0,
                contract: query.contract.clone(),
                key: query.key.clone(),
                height: query.height,
                kind: match query.kind {
                    ReadKind::Storage => proto::QueryKind::Storage,
                    ReadKind::Call => proto::QueryKind::Call,
                }
                .into(),
            })
            .await;
        match reply {
            Ok(r) => Ok(Some(r.into_inner().answer)),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) if s.code() == tonic::Code::InvalidArgument => Err(ForwardError::Invalid {
                member: member.to_owned(),
                reason: s.message().to_owned(),
            }),
            Err(s) if s.code() == tonic::Code::FailedPrecondition => Err(ForwardError::Refused {
                member: member.to_owned(),
                reason: s.message().to_owned(),
            }),
            Err(s) => {
                // A broken connection is dialled again next time.
                self.calls.forget(member).await;
                Err(failed(format!("{}: {}", s.code(), s.message())))
            }
        }
    }
}
