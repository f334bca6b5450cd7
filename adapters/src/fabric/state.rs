//! [`FabricStateReader`]: a chaincode query with the endorsements that prove its result.
//!
//! Fabric has no state proofs, but it has endorsements: the query is sent through the
//! gateway's Endorse (never submitted), and each organisation's peer signs the proposal
//! response that carries the chaincode's result and read set. [`FabricStateProof`] keeps the
//! prepared transaction the gateway assembled from those responses and checks, offline: every
//! endorsement's signature and identity against the configured MSP roots, the endorsement
//! policy over the organisations that endorsed, that the endorsed action is the query asked
//! (channel, chaincode, function and arguments, bound by the proposal hash every endorser
//! signed), and that the chaincode answered `200`. The value is the response payload.
//!
//! A query ([`StateQuery`]): `contract` is `"<channel>/<chaincode>"`, `key` is a JSON array of
//! strings, the function and its arguments (e.g. `["isDelivered", "0x…"]`). Peers serve only
//! their current state: [`ReadAt::Height`] is refused. The read's block is the newest block
//! that wrote a key the query read (the state is at least that new); its id is the block's
//! header hash.

use std::time::SystemTime;

use causeway_proofs::bundle::{ChainFamily, NativeProof};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt as _;

use super::block::{FabricTransaction, proposal_hash};
use super::client::FabricClient;
use super::error::{FabricError, decode};
use super::identity::{MspRole, TrustedMsps};
use super::policy::EndorsementPolicy;
use super::proto::common::{Envelope, Payload};
use super::proto::protos::{
    ChaincodeActionPayload, ChaincodeInvocationSpec, ChaincodeProposalPayload,
    ProposalResponsePayload, Transaction,
};
use super::proto::rwset::TxReadWriteSet;
use super::request::Invocation;
use crate::Error;
use crate::chain::{BlockId, BlockRef, ReadAt, StateQuery, StateRead, StateReader};

/// Longest `key` (the JSON function call) accepted.
const MAX_QUERY_LEN: usize = 64 * 1024;

/// Configuration of a [`FabricStateReader`]: whose endorsements count.
#[derive(Clone, Debug)]
pub struct FabricStateReaderConfig {
    /// The organisations whose MSP roots endorsers must chain to.
    pub trusted: TrustedMsps,
    /// Which organisations must have endorsed the result.
    pub policy: EndorsementPolicy,
    /// Organisations to ask for endorsements (empty: the gateway's choice).
    pub endorsing_orgs: Vec<String>,
}

/// Reads chaincode state through one [`FabricClient`], returning only verified results.
#[derive(Clone, Debug)]
pub struct FabricStateReader {
    client: FabricClient,
    config: FabricStateReaderConfig,
    endorser_role: MspRole,
}

impl FabricStateReader {
    /// A reader over `client`, counting endorsements by peers only ([`MspRole::Peer`]).
    pub fn new(client: FabricClient, config: FabricStateReaderConfig) -> Self {
        FabricStateReader {
            client,
            config,
            endorser_role: MspRole::Peer,
        }
    }

    /// Counts endorsements by identities of `role` instead ([`MspRole::Member`] for
    /// organisations without NodeOUs).
    pub fn with_endorser_role(mut self, role: MspRole) -> Self {
        self.endorser_role = role;
        self
    }
}

/// A parsed [`StateQuery`] for Fabric.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Query {
    channel: String,
    chaincode: String,
    function: String,
    args: Vec<String>,
}

fn parse_query(query: &StateQuery) -> Result<Query, Error> {
    let invalid = |reason: String| Error::InvalidQuery { reason };
    if query.at != ReadAt::Final {
        return Err(invalid(
            "a Fabric peer serves only its current state: read at Final".to_owned(),
        ));
    }
    let (channel, chaincode) = query
        .contract
        .split_once('/')
        .filter(|(c, n)| !c.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| {
            invalid(format!(
                "contract {:?} is not \"<channel>/<chaincode>\"",
                query.contract
            ))
        })?;
    if query.key.len() > MAX_QUERY_LEN {
        return Err(invalid(format!(
            "key of {} bytes exceeds {MAX_QUERY_LEN}",
            query.key.len()
        )));
    }
    let call: Vec<String> = serde_json::from_slice(&query.key).map_err(|e| {
        invalid(format!(
            "key is not a JSON array of strings [function, args...]: {e}"
        ))
    })?;
    let Some((function, args)) = call.split_first() else {
        return Err(invalid("key names no function".to_owned()));
    };
    Ok(Query {
        channel: channel.to_owned(),
        chaincode: chaincode.to_owned(),
        function: function.clone(),
        args: args.to_vec(),
    })
}

/// The proof of a Fabric read: the endorsed (never submitted) transaction of the query.
///
/// JSON (the `data` of the read's native proof, family `fabric`): `{"channel": "…",
/// "chaincode": "…", "function": "…", "args": ["…"], "transaction": "0x<common.Envelope>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricStateProof {
    /// The channel.
    pub channel: String,
    /// The chaincode queried.
    pub chaincode: String,
    /// The function called.
    pub function: String,
    /// Its arguments (UTF-8).
    pub args: Vec<String>,
    /// The prepared transaction (unsigned `common.Envelope`) holding the endorsements, hex.
    #[serde(with = "hex_bytes")]
    pub transaction: Vec<u8>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Longest transaction accepted from JSON.
    const MAX: usize = 4 << 20;

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        causeway_proofs::hash::parse_hex_vec(&s, "transaction", MAX)
            .map_err(serde::de::Error::custom)
    }
}

/// What a verified [`FabricStateProof`] establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRead {
    /// The chaincode's response payload.
    pub value: Vec<u8>,
    /// The organisations whose valid endorsements satisfied the policy.
    pub endorsed_by: Vec<String>,
    /// The newest block that wrote a key the query read (0 when it read only absent keys).
    pub min_height: u64,
}

impl FabricStateProof {
    /// Verifies the proof against `trusted` roots and `policy` at time `at`, counting only
    /// endorsements by peers ([`MspRole::Peer`]).
    pub fn verify(
        &self,
        trusted: &TrustedMsps,
        policy: &EndorsementPolicy,
        at: SystemTime,
    ) -> Result<VerifiedRead, Error> {
        self.verify_with_role(trusted, policy, MspRole::Peer, at)
    }

    /// [`FabricStateProof::verify`] with endorsements counted from identities of `role`.
    pub fn verify_with_role(
        &self,
        trusted: &TrustedMsps,
        policy: &EndorsementPolicy,
        role: MspRole,
        at: SystemTime,
    ) -> Result<VerifiedRead, Error> {
        let bad = |reason: String| Error::InvalidNativeProof { reason };
        let tx = FabricTransaction::decode(0, &self.transaction)?;
        if tx.channel_id() != self.channel {
            return Err(bad(format!(
                "endorsed on channel {:?}, not {:?}",
                tx.channel_id(),
                self.channel
            )));
        }
        let [action] = tx.actions.as_slice() else {
            return Err(bad(format!("{} actions, not one", tx.actions.len())));
        };
        let name = action
            .chaincode_action
            .chaincode_id
            .as_ref()
            .map(|id| id.name.as_str());
        if name != Some(self.chaincode.as_str()) {
            return Err(bad(format!(
                "the endorsed action is of chaincode {name:?}, not {:?}",
                self.chaincode
            )));
        }
        let endorsed_by = policy.check(action, trusted, role, at)?;
        self.check_proposal()?;
        let response =
            action
                .chaincode_action
                .response
                .as_ref()
                .ok_or(FabricError::MissingField {
                    what: "protos.ChaincodeAction.response",
                })?;
        if response.status != 200 {
            return Err(bad(format!(
                "the chaincode answered {}: {}",
                response.status, response.message
            )));
        }
        Ok(VerifiedRead {
            value: response.payload.clone(),
            endorsed_by: endorsed_by.into_iter().collect(),
            min_height: min_height(&action.chaincode_action.results, &self.chaincode)?,
        })
    }

    /// Checks that the transaction proposes exactly this query and that the proposal hash the
    /// endorsers signed is of this proposal (Fabric's `GetProposalHash2`: SHA-256 of channel
    /// header, signature header and the chaincode proposal payload without transient data).
    fn check_proposal(&self) -> Result<(), Error> {
        let bad = |reason: String| Error::InvalidNativeProof { reason };
        let envelope: Envelope = decode(&self.transaction, || "common.Envelope".to_owned())?;
        let payload: Payload = decode(&envelope.payload, || "common.Payload".to_owned())?;
        let header = payload.header.ok_or(FabricError::MissingField {
            what: "common.Payload.header",
        })?;
        let transaction: Transaction = decode(&payload.data, || "protos.Transaction".to_owned())?;
        let action = transaction
            .actions
            .first()
            .ok_or(FabricError::MissingField {
                what: "protos.Transaction.actions",
            })?;
        let action_payload: ChaincodeActionPayload = decode(&action.payload, || {
            "protos.ChaincodeActionPayload".to_owned()
        })?;
        let proposal: ChaincodeProposalPayload =
            decode(&action_payload.chaincode_proposal_payload, || {
                "protos.ChaincodeProposalPayload".to_owned()
            })?;
        let spec: ChaincodeInvocationSpec = decode(&proposal.input, || {
            "protos.ChaincodeInvocationSpec".to_owned()
        })?;
        let input = spec
            .chaincode_spec
            .and_then(|s| s.input)
            .ok_or(FabricError::MissingField {
                what: "protos.ChaincodeSpec.input",
            })?;
        let mut expected = vec![self.function.as_bytes().to_vec()];
        expected.extend(self.args.iter().map(|a| a.as_bytes().to_vec()));
        if input.args != expected {
            return Err(bad(
                "the endorsed proposal calls another function or other arguments".to_owned(),
            ));
        }
        let endorsed = action_payload.action.ok_or(FabricError::MissingField {
            what: "protos.ChaincodeActionPayload.action",
        })?;
        let response: ProposalResponsePayload =
            decode(&endorsed.proposal_response_payload, || {
                "protos.ProposalResponsePayload".to_owned()
            })?;
        let computed = proposal_hash(
            &header.channel_header,
            &header.signature_header,
            &action_payload.chaincode_proposal_payload,
        );
        if response.proposal_hash.as_slice() != computed.as_slice() {
            return Err(bad(
                "the endorsements are of another proposal (proposal hash mismatch)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// `kvrwset.KVRWSet`, reads only (its other fields are skipped when decoding).
#[derive(Clone, PartialEq, prost::Message)]
struct KvReads {
    #[prost(message, repeated, tag = "1")]
    reads: Vec<KvRead>,
}

/// `kvrwset.KVRead`.
#[derive(Clone, PartialEq, prost::Message)]
struct KvRead {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    version: Option<KvVersion>,
}

/// `kvrwset.Version`.
#[derive(Clone, PartialEq, prost::Message)]
struct KvVersion {
    #[prost(uint64, tag = "1")]
    block_num: u64,
    #[prost(uint64, tag = "2")]
    tx_num: u64,
}

/// The newest block among the committed versions the action read in `namespace`.
fn min_height(results: &[u8], namespace: &str) -> Result<u64, Error> {
    let rwset: TxReadWriteSet = decode(results, || "rwset.TxReadWriteSet".to_owned())?;
    let mut height = 0;
    for ns in rwset.ns_rwset.iter().filter(|ns| ns.namespace == namespace) {
        let reads: KvReads = decode(&ns.rwset, || format!("kvrwset.KVRWSet of {namespace}"))?;
        for read in reads.reads {
            if let Some(v) = read.version {
                height = height.max(v.block_num);
            }
        }
    }
    Ok(height)
}

impl StateReader for FabricStateReader {
    #[tracing::instrument(name = "fabric_read", skip_all, fields(contract = %query.contract))]
    async fn read(&self, query: &StateQuery) -> Result<StateRead, Error> {
        let q = parse_query(query)?;
        let invocation = Invocation {
            channel_id: q.channel.clone(),
            chaincode: q.chaincode.clone(),
            function: q.function.clone(),
            args: q.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            ..Default::default()
        };
        let endorsed = self
            .client
            .endorse(&invocation, &self.config.endorsing_orgs)
            .await?;
        let proof = FabricStateProof {
            channel: q.channel,
            chaincode: q.chaincode,
            function: q.function,
            args: q.args,
            transaction: endorsed.prepared.encode_to_vec(),
        };
        let verified = proof.verify_with_role(
            &self.config.trusted,
            &self.config.policy,
            self.endorser_role,
            SystemTime::now(),
        )?;
        let mut blocks = self
            .client
            .deliver_blocks(&proof.channel, verified.min_height)
            .await?;
        let block = blocks.next().await.ok_or_else(|| Error::MissingData {
            what: format!("block {}", verified.min_height),
        })??;
        Ok(StateRead {
            at: BlockRef {
                height: verified.min_height,
                id: BlockId::from(block.header_hash().0),
            },
            value: verified.value,
            proof: NativeProof {
                family: ChainFamily::Fabric,
                data: serde_json::to_value(&proof).expect("plain data serialises"),
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn query(contract: &str, key: &[u8], at: ReadAt) -> StateQuery {
        StateQuery {
            contract: contract.to_owned(),
            key: key.to_vec(),
            at,
        }
    }

    #[test]
    fn queries_name_channel_chaincode_function_and_args() {
        let q = parse_query(&query(
            "causeway/causeway_inbox",
            br#"["isDelivered","0x01"]"#,
            ReadAt::Final,
        ))
        .unwrap();
        assert_eq!(
            q,
            Query {
                channel: "causeway".into(),
                chaincode: "causeway_inbox".into(),
                function: "isDelivered".into(),
                args: vec!["0x01".into()],
            }
        );
        for (contract, key, at) in [
            ("causeway/inbox", &br#"["f"]"#[..], ReadAt::Height(3)),
            ("causeway", br#"["f"]"#, ReadAt::Final),
            ("a/b/c", br#"["f"]"#, ReadAt::Final),
            ("/b", br#"["f"]"#, ReadAt::Final),
            ("a/b", b"[]", ReadAt::Final),
            ("a/b", b"isDelivered", ReadAt::Final),
            ("a/b", br#"["f", 1]"#, ReadAt::Final),
        ] {
            assert!(
                matches!(
                    parse_query(&query(contract, key, at)),
                    Err(Error::InvalidQuery { .. })
                ),
                "{contract} {key:?}"
            );
        }
    }

    #[test]
    fn proofs_round_trip_through_json() {
        let proof = FabricStateProof {
            channel: "c".into(),
            chaincode: "cc".into(),
            function: "f".into(),
            args: vec!["a".into()],
            transaction: vec![1, 2, 3],
        };
        let json = serde_json::to_value(&proof).unwrap();
        assert_eq!(json["transaction"], "0x010203");
        assert_eq!(
            serde_json::from_value::<FabricStateProof>(json).unwrap(),
            proof
        );
    }
}
