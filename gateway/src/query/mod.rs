//! Cross-ledger queries with proof (issue 12): one value of a chain's state, answered with the
//! chain's own proof of it, for `POST /v1/queries` and for the members that forward queries here.
//!
//! - A chain this gateway serves is read through its wired [`DynStateReader`], which checks the
//!   proof before returning: an EVM storage slot by `eth_getProof` against a final block's state
//!   root, an EVM contract call by re-executing it over the `eth_getProof`-proven accounts, slots
//!   and code it reads, a Fabric chaincode evaluation by its endorsements under the configured policy (and an
//!   orderer-signed block), a FISCO BCOS view call at a sealed block (FISCO BCOS has no state
//!   proofs: the answer says `unproven`).
//! - A chain it does not serve (named by its consortium domain) is forwarded over the peer
//!   protocol to the other members in configuration order; the first that serves it answers.
//!   A forwarded query is answered only from the receiving gateway's own chains, never forwarded
//!   again. The forwarding gateway trusts nothing it cannot check: it overwrites who answered,
//!   checks that the proof is of the query asked and, for EVM, that it is consistent from the
//!   block header down to the value; the answer then says `verified_by_member`, and
//!   `causeway verify --query FILE` checks the rest (the block, or the endorsements) offline.

mod answer;

use std::collections::HashMap;
use std::sync::Arc;

use causeway_adapters::chain::{DynStateReader, ReadAt, StateQuery};
use causeway_config::Config;
use causeway_peer::{ForwardError, ForwardedQuery, QueryForwarder, QueryRefusal};
use causeway_proofs::Domain;
use tokio::sync::Semaphore;

pub use answer::{ProofState, QueryAnswer, QueryKind, check_binding};

/// Queries answered at once (local reads and forwarded ones together); more wait.
pub const MAX_CONCURRENT_QUERIES: usize = 16;

/// The largest answer accepted from a member (its JSON).
pub const MAX_ANSWER_LEN: usize = 1024 * 1024;

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Neither this gateway nor any member serves the chain.
    #[error("no gateway of the consortium serves a chain of domain {domain}{}", tried_note(.tried))]
    NotServed {
        /// The domain asked for.
        domain: Domain,
        /// What each member that could not be asked said.
        tried: Vec<String>,
    },
    /// The query is malformed for the chain's family.
    #[error("invalid query: {reason}")]
    Invalid {
        /// What is wrong with it.
        reason: String,
    },
    /// The chain's node refused the read (a call that reverts, a block it does not have).
    #[error("the chain refused the read: {reason}")]
    Refused {
        /// What it said.
        reason: String,
    },
    /// The chain, or the members that serve it, could not answer now.
    #[error("the chain could not answer now: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
    },
    /// The member that answered sent an answer that is not of this query or does not verify.
    #[error("member {member}'s answer was refused: {reason}")]
    BadAnswer {
        /// The member.
        member: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn tried_note(tried: &[String]) -> String {
    if tried.is_empty() {
        String::new()
    } else {
        format!(" (members not reachable: {})", tried.join("; "))
    }
}

impl From<QueryError> for QueryRefusal {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::NotServed { domain, .. } => QueryRefusal::NotServed { domain },
            QueryError::Invalid { reason } => QueryRefusal::Invalid { reason },
            QueryError::Refused { reason } => QueryRefusal::Refused { reason },
            other => QueryRefusal::Unavailable {
                reason: other.to_string(),
            },
        }
    }
}

/// A chain this gateway reads itself.
#[derive(Clone)]
pub struct LocalChain {
    /// Its name in this gateway's configuration.
    pub name: String,
    /// Its domain.
    pub domain: Domain,
    /// Reads its state with proofs.
    pub reader: Arc<dyn DynStateReader>,
}

impl core::fmt::Debug for LocalChain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalChain")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// Answers queries: from this gateway's chains, or through the members that serve the chain.
#[derive(Clone, Debug)]
pub struct Queries(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    own: String,
    local: HashMap<Domain, LocalChain>,
    /// The other members in configuration order (the order queries are forwarded in).
    members: Vec<String>,
    forwarder: Option<QueryForwarder>,
    slots: Semaphore,
}

impl Queries {
    /// Queries over `local` chains, forwarding others to `members` (in that order) through
    /// `forwarder`, as member `own`.
    pub fn new(
        own: String,
        local: Vec<LocalChain>,
        members: Vec<String>,
        forwarder: Option<QueryForwarder>,
    ) -> Self {
        Queries(Arc::new(Inner {
            own,
            local: local.into_iter().map(|c| (c.domain, c)).collect(),
            members,
            forwarder,
            slots: Semaphore::new(MAX_CONCURRENT_QUERIES),
        }))
    }

    /// The queries of `config`'s gateway over the wired `chains` that have a state reader,
    /// forwarding through `forwarder`.
    pub fn from_wired(
        config: &Config,
        chains: &[crate::wiring::WiredChain],
        forwarder: Option<QueryForwarder>,
    ) -> Self {
        let own = config.own_member().name.clone();
        let local = chains
            .iter()
            .filter_map(|c| {
                c.state_reader.as_ref().map(|reader| LocalChain {
                    name: c.name.clone(),
                    domain: c.domain,
                    reader: Arc::clone(reader),
                })
            })
            .collect();
        let members = config
            .members()
            .iter()
            .filter(|m| m.name != own)
            .map(|m| m.name.clone())
            .collect();
        Self::new(own, local, members, forwarder)
    }

    /// Whether this gateway reads the chain of `domain` itself.
    pub fn serves(&self, domain: Domain) -> bool {
        self.0.local.contains_key(&domain)
    }

    /// Answers `query`: from this gateway's chain of its domain, else forwarded.
    pub async fn answer(&self, query: &ForwardedQuery) -> Result<QueryAnswer, QueryError> {
        let _slot = self
            .0
            .slots
            .acquire()
            .await
            .map_err(|_| QueryError::Unavailable {
                reason: "the gateway is shutting down".into(),
            })?;
        if self.serves(query.domain) {
            return self.local(query).await;
        }
        self.forward(query).await
    }

    /// Answers `query` from this gateway's own chains only (a forwarded query: never forwarded
    /// again).
    pub async fn answer_locally(&self, query: &ForwardedQuery) -> Result<QueryAnswer, QueryError> {
        let _slot = self
            .0
            .slots
            .acquire()
            .await
            .map_err(|_| QueryError::Unavailable {
                reason: "the gateway is shutting down".into(),
            })?;
        self.local(query).await
    }

    async fn local(&self, query: &ForwardedQuery) -> Result<QueryAnswer, QueryError> {
        let chain = self
            .0
            .local
            .get(&query.domain)
            .ok_or(QueryError::NotServed {
                domain: query.domain,
                tried: Vec::new(),
            })?;
        let state_query = StateQuery {
            contract: query.contract.clone(),
            key: query.key.clone(),
            at: query.height.map_or(ReadAt::Final, ReadAt::Height),
            kind: query.kind,
        };
        let read = chain.reader.read(&state_query).await.map_err(read_error)?;
        Ok(QueryAnswer::local(&self.0.own, chain, query, read))
    }

    async fn forward(&self, query: &ForwardedQuery) -> Result<QueryAnswer, QueryError> {
        let Some(forwarder) = &self.0.forwarder else {
            return Err(QueryError::NotServed {
                domain: query.domain,
                tried: Vec::new(),
            });
        };
        let mut unreachable = Vec::new();
        for member in &self.0.members {
            match forwarder.query(member, query).await {
                Ok(None) => continue,
                Ok(Some(bytes)) => return self.accept(member, query, bytes).await,
                Err(ForwardError::Invalid { reason, .. }) => {
                    return Err(QueryError::Invalid { reason });
                }
                // The member serves the chain and the chain said no: that is the answer.
                Err(ForwardError::Refused { reason, .. }) => {
                    return Err(QueryError::Refused { reason });
                }
                Err(e) => {
                    tracing::debug!(member = %member, domain = %query.domain, error = %e, "forwarding a query failed");
                    unreachable.push(e.to_string());
                }
            }
        }
        if unreachable.is_empty() {
            Err(QueryError::NotServed {
                domain: query.domain,
                tried: Vec::new(),
            })
        } else {
            // A member that serves the chain may be among those not reachable now.
            Err(QueryError::Unavailable {
                reason: format!(
                    "no reachable member serves domain {} ({})",
                    query.domain,
                    unreachable.join("; ")
                ),
            })
        }
    }

    /// `member`'s answer, once it is shown to be of `query` and (EVM) consistent. The check
    /// runs on a blocking thread: an EVM call's answer is re-executed.
    async fn accept(
        &self,
        member: &str,
        query: &ForwardedQuery,
        bytes: Vec<u8>,
    ) -> Result<QueryAnswer, QueryError> {
        let bad = |reason: String| QueryError::BadAnswer {
            member: member.to_owned(),
            reason,
        };
        if bytes.len() > MAX_ANSWER_LEN {
            return Err(bad(format!(
                "{} bytes, more than {MAX_ANSWER_LEN}",
                bytes.len()
            )));
        }
        let asked = query.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let answer: QueryAnswer =
                serde_json::from_slice(&bytes).map_err(|e| format!("not a query answer: {e}"))?;
            check_binding(&answer, &asked)?;
            Ok::<_, String>(answer)
        })
        .await
        .map_err(|e| QueryError::Unavailable {
            reason: format!("checking the answer failed: {e}"),
        })?;
        let mut answer = checked.map_err(bad)?;
        answer.answered_by = member.to_owned();
        answer.forwarded = true;
        if answer.proof_state == ProofState::Verified {
            answer.proof_state = ProofState::VerifiedByMember;
        }
        Ok(answer)
    }
}

impl causeway_peer::QuerySource for Queries {
    fn query(&self, member: &str, query: ForwardedQuery) -> causeway_peer::QueryFuture<'_> {
        let member = member.to_owned();
        Box::pin(async move {
            let answer = self.answer_locally(&query).await.map_err(|e| {
                tracing::debug!(member = %member, domain = %query.domain, error = %e, "a forwarded query got no answer");
                QueryRefusal::from(e)
            })?;
            serde_json::to_vec(&answer).map_err(|e| QueryRefusal::Unavailable {
                reason: format!("encoding the answer: {e}"),
            })
        })
    }
}

/// What an adapter's read error means for the caller.
fn read_error(e: causeway_adapters::Error) -> QueryError {
    use causeway_adapters::Error as E;
    match e {
        E::InvalidQuery { reason } => QueryError::Invalid { reason },
        E::Reverted { reason } => QueryError::Refused {
            reason: format!("the call reverted: {reason}"),
        },
        e @ E::CallHalted { .. } => QueryError::Refused {
            reason: e.to_string(),
        },
        e @ (E::Rpc { .. } | E::MissingData { .. }) => QueryError::Refused {
            reason: e.to_string(),
        },
        other => QueryError::Unavailable {
            reason: other.to_string(),
        },
    }
}
