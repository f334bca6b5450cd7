//! [`QueryAnswer`]: the JSON a query is answered with (the API's body, the peer protocol's reply,
//! the file `causeway verify --query` reads), and [`check_binding`], which shows an answer's
//! proof is of the query asked.

use causeway_adapters::ReadKind;
use causeway_adapters::chain::StateRead;
use causeway_adapters::evm::{EvmCallProof, EvmStateProof};
use causeway_adapters::fabric::FabricStateProof;
use causeway_peer::ForwardedQuery;
use causeway_proofs::bundle::{ChainFamily, NativeProof};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::LocalChain;

/// How far the value of an answer is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProofState {
    /// The answering gateway verified the chain's proof of the value against the chain itself
    /// (EVM: a final block of its node, down the state and storage tries; Fabric: endorsements
    /// under the configured policy and an orderer-signed block).
    Verified,
    /// Forwarded: the member that serves the chain verified it; this gateway checked that the
    /// proof is of the query asked (and, EVM, consistent from the block header down to the
    /// value), not the block or the endorsers: `causeway verify --query` checks those.
    VerifiedByMember,
    /// The chain offers no proof of the value (FISCO BCOS: the node's answer to a call at a
    /// block whose seal was verified).
    Unproven,
}

/// What a query's key is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// The family's own read: EVM, the key is a 32-byte storage slot; Fabric, an evaluation;
    /// FISCO BCOS, a view call.
    #[default]
    Storage,
    /// EVM: a contract call (the key is its call data) answered with the call re-executed over
    /// `eth_getProof`-proven state. Fabric and FISCO BCOS reads are calls already.
    Call,
}

impl From<QueryKind> for ReadKind {
    fn from(kind: QueryKind) -> Self {
        match kind {
            QueryKind::Storage => ReadKind::Storage,
            QueryKind::Call => ReadKind::Call,
        }
    }
}

impl From<ReadKind> for QueryKind {
    fn from(kind: ReadKind) -> Self {
        match kind {
            ReadKind::Call => QueryKind::Call,
            _ => QueryKind::Storage,
        }
    }
}

/// A query's answer: the value, the block it was read at and the chain's proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryAnswer {
    /// The chain's consortium domain.
    pub domain: u32,
    /// The chain's name in the answering gateway's configuration.
    pub chain: String,
    /// Its family: `evm`, `fabric` or `fisco`.
    pub family: String,
    /// The contract queried.
    pub contract: String,
    /// The key, `0x` hex.
    pub key: String,
    /// What the key is (absent in answers from before calls could be proven: `storage`).
    #[serde(default)]
    pub kind: QueryKind,
    /// The block height the value was read at.
    pub height: u64,
    /// That block's id (hash), `0x` hex.
    pub block: String,
    /// The value, `0x` hex (EVM: the 32-byte slot word, or a call's return data; Fabric: the
    /// chaincode's response payload; FISCO BCOS: the call's return data).
    pub value: String,
    /// The chain's proof (`{family, data}`, the same shape as a bundle's native proof).
    #[schema(value_type = Object)]
    pub proof: NativeProof,
    /// How far the value is proven.
    pub proof_state: ProofState,
    /// The member whose gateway read the chain.
    pub answered_by: String,
    /// Whether this gateway forwarded the query to that member.
    pub forwarded: bool,
}

fn family_name(family: ChainFamily) -> &'static str {
    match family {
        ChainFamily::Evm => "evm",
        ChainFamily::Fabric => "fabric",
        ChainFamily::Fisco => "fisco",
    }
}

impl QueryAnswer {
    /// The answer of a read of this gateway's `chain`.
    pub(super) fn local(
        own: &str,
        chain: &LocalChain,
        query: &ForwardedQuery,
        read: StateRead,
    ) -> Self {
        let proven = !(read.proof.family == ChainFamily::Fisco
            || read.proof.data.get("value_proven") == Some(&serde_json::Value::Bool(false)));
        QueryAnswer {
            domain: query.domain.0,
            chain: chain.name.clone(),
            family: family_name(read.proof.family).to_owned(),
            contract: query.contract.clone(),
            key: format!("0x{}", hex::encode(&query.key)),
            kind: query.kind.into(),
            height: read.at.height,
            block: read.at.id.to_string(),
            value: format!("0x{}", hex::encode(&read.value)),
            proof: read.proof,
            proof_state: if proven {
                ProofState::Verified
            } else {
                ProofState::Unproven
            },
            answered_by: own.to_owned(),
            forwarded: false,
        }
    }

    /// The value's bytes.
    pub fn value_bytes(&self) -> Result<Vec<u8>, String> {
        hex_bytes(&self.value, "value")
    }
}

fn hex_bytes(text: &str, what: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| format!("{what} {text:?} is not 0x hex"))?;
    hex::decode(digits).map_err(|e| format!("{what} is not hex: {e}"))
}

/// The block hash an EVM answer names.
fn block_hash(answer: &QueryAnswer) -> Result<causeway_proofs::Hash32, String> {
    let block: [u8; 32] = hex_bytes(&answer.block, "block")?
        .as_slice()
        .try_into()
        .map_err(|_| "its block is not a 32-byte hash".to_owned())?;
    Ok(causeway_proofs::Hash32(block))
}

/// Fails unless the proof's header (at `height`) is the block the answer names.
fn same_height(height: u64, answer: &QueryAnswer) -> Result<(), String> {
    if height != answer.height {
        return Err(format!(
            "its proof's header is of block {height}, the answer says {}",
            answer.height
        ));
    }
    Ok(())
}

/// Checks that `answer` answers `query` (domain, contract, key, height when one was asked) and
/// that its proof is of that query: EVM, the proof's address, slot and value are the answer's
/// and it verifies from its own header (whose hash is the answer's block) down to the value;
/// Fabric, the endorsed call is the query's channel, chaincode, function and arguments and the
/// value is what the proof carries (its endorsements need the channel's MSP roots:
/// `causeway verify --query`). The reason when not.
pub fn check_binding(answer: &QueryAnswer, query: &ForwardedQuery) -> Result<(), String> {
    if answer.domain != query.domain.0 {
        return Err(format!(
            "it is of domain {}, not {}",
            answer.domain, query.domain
        ));
    }
    if answer.contract != query.contract {
        return Err(format!("it is of contract {:?}", answer.contract));
    }
    if hex_bytes(&answer.key, "key")? != query.key {
        return Err("it is of another key".into());
    }
    if ReadKind::from(answer.kind) != query.kind {
        return Err(format!("it is of kind {:?}", answer.kind));
    }
    if let Some(h) = query.height
        && answer.height != h
    {
        return Err(format!("it is at height {}, not {h}", answer.height));
    }
    if family_name(answer.proof.family) != answer.family {
        return Err(format!(
            "its proof is of family {}, the answer says {}",
            family_name(answer.proof.family),
            answer.family
        ));
    }
    let value = answer.value_bytes()?;
    match answer.proof.family {
        ChainFamily::Evm if answer.kind == QueryKind::Call => {
            let proof =
                EvmCallProof::from_native_proof(&answer.proof).map_err(|e| e.to_string())?;
            let asked: alloy::primitives::Address = query
                .contract
                .parse()
                .map_err(|e| format!("the contract is not an EVM address: {e}"))?;
            if proof.to != asked {
                return Err(format!("its proof is of a call to {}", proof.to));
            }
            if proof.data.as_ref() != query.key.as_slice() {
                return Err("its proof is of other call data".into());
            }
            if proof.output.as_ref() != value.as_slice() {
                return Err("its proof proves another return value".into());
            }
            let height = proof
                .verify(&block_hash(answer)?)
                .map_err(|e| e.to_string())?;
            same_height(height, answer)?;
        }
        ChainFamily::Evm => {
            let proof =
                EvmStateProof::from_native_proof(&answer.proof).map_err(|e| e.to_string())?;
            let asked: alloy::primitives::Address = query
                .contract
                .parse()
                .map_err(|e| format!("the contract is not an EVM address: {e}"))?;
            if proof.address != asked {
                return Err(format!("its proof is of contract {}", proof.address));
            }
            if proof.slot.as_slice() != query.key.as_slice() {
                return Err(format!("its proof is of slot {}", proof.slot));
            }
            if proof.value.to_be_bytes::<32>().as_slice() != value.as_slice() {
                return Err("its proof proves another value".into());
            }
            let height = proof
                .verify(&block_hash(answer)?)
                .map_err(|e| e.to_string())?;
            same_height(height, answer)?;
        }
        ChainFamily::Fabric => {
            let proof = FabricStateProof::deserialize(&answer.proof.data)
                .map_err(|e| format!("its proof is not a Fabric state proof: {e}"))?;
            let (channel, chaincode) = query
                .contract
                .split_once('/')
                .ok_or_else(|| "the contract is not \"<channel>/<chaincode>\"".to_owned())?;
            let call: Vec<String> = serde_json::from_slice(&query.key)
                .map_err(|e| format!("the key is not a JSON call: {e}"))?;
            if proof.channel != channel
                || proof.chaincode != chaincode
                || call.first() != Some(&proof.function)
                || call.get(1..) != Some(proof.args.as_slice())
            {
                return Err("its proof is of another call".into());
            }
        }
        ChainFamily::Fisco => {
            if answer.proof_state != ProofState::Unproven {
                return Err("a FISCO BCOS answer cannot be proven".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use causeway_proofs::Domain;

    use super::*;

    fn fabric_answer() -> (QueryAnswer, ForwardedQuery) {
        let key = serde_json::to_vec(&["isDelivered", "0xab"]).unwrap();
        let query = ForwardedQuery {
            domain: Domain(7),
            contract: "trade/causeway_inbox".into(),
            key: key.clone(),
            height: None,
            kind: ReadKind::Storage,
        };
        let answer = QueryAnswer {
            domain: 7,
            chain: "trade".into(),
            family: "fabric".into(),
            contract: query.contract.clone(),
            key: format!("0x{}", hex::encode(&key)),
            kind: QueryKind::Storage,
            height: 3,
            block: "0x01".into(),
            value: format!("0x{}", hex::encode("false")),
            proof: NativeProof {
                family: ChainFamily::Fabric,
                data: serde_json::json!({
                    "channel": "trade", "chaincode": "causeway_inbox",
                    "function": "isDelivered", "args": ["0xab"], "transaction": "0x00",
                }),
            },
            proof_state: ProofState::Verified,
            answered_by: "org1".into(),
            forwarded: false,
        };
        (answer, query)
    }

    #[test]
    fn an_answer_binds_only_to_the_query_it_answers() {
        let (answer, query) = fabric_answer();
        assert_eq!(check_binding(&answer, &query), Ok(()));
        let other = |f: &dyn Fn(&mut ForwardedQuery)| {
            let mut q = query.clone();
            f(&mut q);
            check_binding(&answer, &q)
        };
        assert!(other(&|q| q.domain = Domain(8)).is_err());
        assert!(other(&|q| q.contract = "trade/other".into()).is_err());
        assert!(other(&|q| q.height = Some(4)).is_err());
        // Another call whose key is of the same channel and chaincode: the proof is not of it.
        let mut q = query.clone();
        q.key = serde_json::to_vec(&["isDelivered", "0xcd"]).unwrap();
        let mut a = answer.clone();
        a.key = format!("0x{}", hex::encode(&q.key));
        assert_eq!(
            check_binding(&a, &q),
            Err("its proof is of another call".to_owned())
        );
        // A family that contradicts the proof's.
        let mut a = answer.clone();
        a.family = "evm".into();
        assert!(check_binding(&a, &query).is_err());
    }

    #[test]
    fn a_fisco_answer_cannot_claim_a_proof_and_an_evm_answer_needs_one() {
        let (mut answer, mut query) = fabric_answer();
        answer.proof = NativeProof {
            family: ChainFamily::Fisco,
            data: serde_json::json!({"value_proven": false}),
        };
        answer.family = "fisco".into();
        answer.contract = "0x00000000000000000000000000000000000000aa".into();
        query.contract = answer.contract.clone();
        assert!(check_binding(&answer, &query).is_err(), "claims verified");
        answer.proof_state = ProofState::Unproven;
        assert_eq!(check_binding(&answer, &query), Ok(()));

        answer.proof = NativeProof {
            family: ChainFamily::Evm,
            data: serde_json::json!({"not": "a state proof"}),
        };
        answer.family = "evm".into();
        assert!(check_binding(&answer, &query).is_err());
    }
}
