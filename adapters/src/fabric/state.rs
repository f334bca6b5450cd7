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
//! their current state: [`ReadAt::Height`] is refused.
//!
//! Freshness: endorsements carry no time of their own, but every endorser signs the proposal
//! hash, which covers the proposal's channel header and so its timestamp.
//! [`FabricStateProof::verify`] returns that timestamp ([`VerifiedRead::proposed_at`]) and
//! refuses a proof whose proposal is dated more than `max_age` away from the time of the
//! check (before or after: Fabric's endorsers do not check the proposer's clock, as its
//! Deliver service checks `|now - timestamp|` against `AuthenticationTimeWindow`). An old
//! endorsed `"false"` cannot be replayed as current beyond `max_age`.
//!
//! The block a read reports ([`StateRead::at`]) is the newest block that wrote a key the query
//! read (`min_height`: the peer's state was at least that new when it endorsed; 0 when every
//! key read was absent), and its id is that block's header hash, verified by the reader: the
//! block is fetched through Deliver and carries the ordering service's signatures (the
//! configured orderer roots, [`MspRole::Orderer`]) over that header. Fabric does not sign its
//! genesis block, so block 0's header is verified through block 1, whose signed header names
//! it as `previous_hash`.

use std::time::{Duration, SystemTime};

use causeway_proofs::bundle::{ChainFamily, NativeProof};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt as _;

use super::block::{FabricBlock, FabricTransaction, proposal_hash, verify_chain};
use super::client::{BlockStream, FabricClient};
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
use causeway_proofs::fabric::{FabricError, decode};

/// Longest `key` (the JSON function call) accepted.
const MAX_QUERY_LEN: usize = 64 * 1024;

/// The default [`FabricStateReaderConfig::max_age`]: the reader checks its own proposal right
/// after the peers endorsed it.
pub const DEFAULT_READ_MAX_AGE: Duration = Duration::from_secs(60);

/// How long the reader waits for a block it verifies (block 1, when the read is at the
/// genesis block and nothing has been committed since).
const BLOCK_WAIT: Duration = Duration::from_secs(10);

/// Configuration of a [`FabricStateReader`]: whose endorsements and block signatures count.
#[derive(Clone, Debug)]
pub struct FabricStateReaderConfig {
    /// The organisations whose MSP roots endorsers must chain to.
    pub trusted: TrustedMsps,
    /// Which organisations must have endorsed the result.
    pub policy: EndorsementPolicy,
    /// Organisations to ask for endorsements (empty: the gateway's choice).
    pub endorsing_orgs: Vec<String>,
    /// Root CAs of the ordering service's organisations: the block a read reports must be
    /// signed by its orderers.
    pub orderers: TrustedMsps,
    /// Distinct orderer identities that must have signed that block (1 for Raft).
    pub orderer_signatures_required: usize,
    /// The largest distance between a read's proposal time and its check.
    pub max_age: Duration,
}

impl FabricStateReaderConfig {
    /// Endorsements of `trusted` organisations under `policy`, blocks signed by one orderer
    /// of `orderers`, proposals at most [`DEFAULT_READ_MAX_AGE`] old, endorsing
    /// organisations chosen by the gateway.
    pub fn new(trusted: TrustedMsps, orderers: TrustedMsps, policy: EndorsementPolicy) -> Self {
        FabricStateReaderConfig {
            trusted,
            policy,
            endorsing_orgs: Vec::new(),
            orderers,
            orderer_signatures_required: 1,
            max_age: DEFAULT_READ_MAX_AGE,
        }
    }
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
    /// When the read was proposed: the proposal's `ChannelHeader.timestamp`, which every
    /// endorsement covers (through the proposal hash). The proposer's clock: Fabric's
    /// endorsers do not check it.
    pub proposed_at: SystemTime,
}

impl FabricStateProof {
    /// Verifies the proof against `trusted` roots and `policy` at time `at`, counting only
    /// endorsements by peers ([`MspRole::Peer`]), and refuses it
    /// ([`FabricError::StaleRead`]) unless the proposal is dated within `max_age` of `at`.
    pub fn verify(
        &self,
        trusted: &TrustedMsps,
        policy: &EndorsementPolicy,
        at: SystemTime,
        max_age: Duration,
    ) -> Result<VerifiedRead, Error> {
        self.verify_with_role(trusted, policy, MspRole::Peer, at, max_age)
    }

    /// [`FabricStateProof::verify`] with endorsements counted from identities of `role`.
    pub fn verify_with_role(
        &self,
        trusted: &TrustedMsps,
        policy: &EndorsementPolicy,
        role: MspRole,
        at: SystemTime,
        max_age: Duration,
    ) -> Result<VerifiedRead, Error> {
        let bad = |reason: String| Error::InvalidNativeProof { reason };
        let tx = FabricTransaction::decode(0, &self.transaction)?;
        let proposed_at = tx
            .channel_header
            .timestamp
            .and_then(|t| SystemTime::try_from(t).ok())
            .ok_or(FabricError::MissingField {
                what: "common.ChannelHeader.timestamp",
            })?;
        let distance = at
            .duration_since(proposed_at)
            .unwrap_or_else(|ahead| ahead.duration());
        if distance > max_age {
            return Err(FabricError::StaleRead {
                proposed_at,
                at,
                max_age,
            }
            .into());
        }
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
            proposed_at,
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

impl FabricStateReader {
    /// Block `number` of `channel`, with its header hash verified: signed by the configured
    /// orderers, or (the unsigned genesis block) named as `previous_hash` by block 1's signed
    /// header.
    async fn verified_block(
        &self,
        channel: &str,
        number: u64,
        at: SystemTime,
    ) -> Result<BlockRef, Error> {
        let endpoint = self.client.endpoint();
        let invalid = |reason: String| Error::InvalidBlock {
            endpoint: endpoint.to_owned(),
            number,
            reason,
        };
        let mut blocks = self.client.deliver_blocks(channel, number).await?;
        let block = next_block(&mut blocks, number).await?;
        if block.number() != number {
            return Err(invalid(format!("the peer served block {}", block.number())));
        }
        let signed = if number == 0 {
            let next = next_block(&mut blocks, 1).await?;
            verify_chain(&[block.clone(), next.clone()]).map_err(|e| invalid(e.to_string()))?;
            next
        } else {
            block.clone()
        };
        signed
            .verify_data_hash()
            .and_then(|()| {
                signed.verify_orderer_signatures(
                    &self.config.orderers,
                    MspRole::Orderer,
                    at,
                    self.config.orderer_signatures_required,
                )
            })
            .map_err(|e| invalid(e.to_string()))?;
        Ok(BlockRef {
            height: number,
            id: BlockId::from(block.header_hash().0),
        })
    }
}

/// The next block of `blocks` (expected to be `number`), waiting at most [`BLOCK_WAIT`].
async fn next_block(blocks: &mut BlockStream, number: u64) -> Result<FabricBlock, Error> {
    let missing = || Error::MissingData {
        what: format!("block {number}"),
    };
    tokio::time::timeout(BLOCK_WAIT, blocks.next())
        .await
        .map_err(|_| missing())?
        .ok_or_else(missing)?
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
        let invocation = Invocation::new(
            &q.channel,
            &q.chaincode,
            &q.function,
            q.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        );
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
        let now = SystemTime::now();
        let verified = proof.verify_with_role(
            &self.config.trusted,
            &self.config.policy,
            self.endorser_role,
            now,
            self.config.max_age,
        )?;
        let at = self
            .verified_block(&proof.channel, verified.min_height, now)
            .await?;
        Ok(StateRead {
            at,
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
            kind: crate::ReadKind::Storage,
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
