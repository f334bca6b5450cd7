//! [`EvmStateReader`]: one storage slot of one contract at a final block, with `eth_getProof`'s
//! account and storage proofs, verified against the block's state root before it is returned;
//! [`EvmStateProof`] re-checks such a read offline from a trusted block hash.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rlp::{Decodable, Encodable, Header};
use alloy::trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use causeway_proofs::Hash32;
use causeway_proofs::bundle::{ChainFamily, NativeProof};
use causeway_proofs::evm::{decode_header, header_hash, verify_proof};
use serde::{Deserialize, Serialize};

use super::proof::{hash32, proof_error};
use super::rpc::{Rpc, RpcConfig};
use super::{Finality, final_height};
use crate::Error;
use crate::chain::{BlockId, BlockRef, ReadAt, ReadKind, StateQuery, StateRead, StateReader};

/// An account as the state trie stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmAccount {
    /// Its nonce.
    pub nonce: u64,
    /// Its balance in wei.
    pub balance: U256,
    /// Root of its storage trie.
    pub storage_root: B256,
    /// keccak-256 of its code.
    pub code_hash: B256,
}

impl EvmAccount {
    /// `rlp([nonce, balance, storageRoot, codeHash])`, the state trie's value.
    pub(super) fn rlp(&self) -> Vec<u8> {
        let payload_length = self.nonce.length()
            + self.balance.length()
            + self.storage_root.length()
            + self.code_hash.length();
        let mut out = Vec::with_capacity(payload_length + 3);
        Header {
            list: true,
            payload_length,
        }
        .encode(&mut out);
        self.nonce.encode(&mut out);
        self.balance.encode(&mut out);
        self.storage_root.encode(&mut out);
        self.code_hash.encode(&mut out);
        out
    }

    /// Whether this is the empty account (what an absent account reads as).
    pub(super) fn is_empty(&self) -> bool {
        self.nonce == 0
            && self.balance.is_zero()
            && self.storage_root == EMPTY_ROOT_HASH
            && self.code_hash == KECCAK_EMPTY
    }
}

/// Proof of one storage slot: header → state root → account → storage root → slot value.
///
/// JSON (the `data` of the read's native proof, family `evm`): `{"header":"0x…",
/// "address":"0x…", "slot":"0x…", "account":{…}, "account_proof":["0x…"],
/// "storage_proof":["0x…"], "value":"0x…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmStateProof {
    /// The block header's RLP.
    pub header: Bytes,
    /// The contract.
    pub address: Address,
    /// The storage slot.
    pub slot: B256,
    /// The contract's account fields.
    pub account: EvmAccount,
    /// Account proof nodes, root first.
    pub account_proof: Vec<Bytes>,
    /// Storage proof nodes, root first.
    pub storage_proof: Vec<Bytes>,
    /// The slot's value.
    pub value: U256,
}

impl EvmStateProof {
    /// Checks the proof from `expected_block_hash` (which the caller trusts) down to the value,
    /// and returns the block number it is for.
    pub fn verify(&self, expected_block_hash: &Hash32) -> Result<u64, Error> {
        let invalid = |reason: String| Error::InvalidNativeProof { reason };
        let computed = header_hash(&self.header);
        if computed != *expected_block_hash {
            return Err(invalid(format!(
                "header hashes to {computed}, not the expected block {expected_block_hash}"
            )));
        }
        let header = decode_header(&self.header).map_err(proof_error)?;
        verify_account(
            &header.state_root,
            self.address,
            &self.account,
            &self.account_proof,
        )?;
        verify_slot(&self.account, self.slot, self.value, &self.storage_proof)?;
        Ok(header.number)
    }

    /// The proof as a native proof of family `evm`.
    pub fn to_native_proof(&self) -> Result<NativeProof, Error> {
        let data = serde_json::to_value(self).map_err(|e| Error::Decode {
            what: "EVM state proof",
            reason: e.to_string(),
        })?;
        Ok(NativeProof {
            family: ChainFamily::Evm,
            data,
        })
    }

    /// The state proof a native proof carries.
    pub fn from_native_proof(proof: &NativeProof) -> Result<Self, Error> {
        if proof.family != ChainFamily::Evm {
            return Err(Error::Decode {
                what: "EVM state proof",
                reason: format!("native proof is of family {:?}, not evm", proof.family),
            });
        }
        EvmStateProof::deserialize(&proof.data).map_err(|e| Error::Decode {
            what: "EVM state proof",
            reason: e.to_string(),
        })
    }
}

/// Checks that `proof` (nodes, root first) shows `address` holding `account` in the state trie
/// of `state_root` (an absent account proves only the empty account).
pub(super) fn verify_account(
    state_root: &Hash32,
    address: Address,
    account: &EvmAccount,
    proof: &[Bytes],
) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidNativeProof { reason };
    let nodes: Vec<Vec<u8>> = proof.iter().map(|b| b.to_vec()).collect();
    let key = keccak256(address);
    match verify_proof(state_root, key.as_slice(), &nodes).map_err(proof_error)? {
        Some(value) if value == account.rlp().as_slice() => Ok(()),
        Some(_) => Err(invalid(format!(
            "the account proof of {address} proves other account fields"
        ))),
        None if account.is_empty() => Ok(()),
        None => Err(invalid(format!(
            "the account proof proves {address} absent"
        ))),
    }
}

/// Checks that `proof` (nodes, root first) shows `slot` holding `value` in the storage trie of
/// `account` (already proven); zero is proven by the slot's absence.
pub(super) fn verify_slot(
    account: &EvmAccount,
    slot: B256,
    value: U256,
    proof: &[Bytes],
) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidNativeProof { reason };
    let mut nodes: Vec<Vec<u8>> = proof.iter().map(|b| b.to_vec()).collect();
    // An empty trie's root is keccak256(rlp("")); some nodes (anvil, reth) prove absence in
    // it with that one node, `0x80`, others with no node at all. Both mean "absent".
    if account.storage_root == EMPTY_ROOT_HASH && nodes == [vec![0x80u8]] {
        nodes.clear();
    }
    let key = keccak256(slot);
    let root = Hash32(account.storage_root.0);
    match verify_proof(&root, key.as_slice(), &nodes).map_err(proof_error)? {
        Some(mut proven) => {
            let proven_value = U256::decode(&mut proven).map_err(|e| {
                invalid(format!(
                    "the proven storage value is not an RLP integer: {e}"
                ))
            })?;
            if !proven.is_empty() || proven_value != value || proven_value.is_zero() {
                return Err(invalid(format!(
                    "the storage proof of slot {slot} proves {proven_value}, the read says {value}"
                )));
            }
            Ok(())
        }
        None if value.is_zero() => Ok(()),
        None => Err(invalid(format!(
            "the storage proof proves slot {slot} empty, the read says {value}"
        ))),
    }
}

/// Reads EVM storage with proofs (a cloneable handle).
#[derive(Clone, Debug)]
pub struct EvmStateReader {
    pub(super) rpc: Rpc,
    finality: Finality,
}

impl EvmStateReader {
    /// A reader of the node at `rpc`, reading at the final block under `finality` by default.
    pub fn new(rpc: RpcConfig, finality: Finality) -> Result<Self, Error> {
        Ok(EvmStateReader {
            rpc: Rpc::connect(&rpc)?,
            finality,
        })
    }
}

impl StateReader for EvmStateReader {
    async fn read(&self, query: &StateQuery) -> Result<StateRead, Error> {
        let address: Address = query.contract.parse().map_err(|e| Error::InvalidQuery {
            reason: format!("contract {:?} is not an EVM address: {e}", query.contract),
        })?;
        let slot = match query.kind {
            ReadKind::Storage => {
                Some(B256::try_from(query.key.as_slice()).map_err(|_| Error::InvalidQuery {
                    reason: format!(
                        "an EVM storage slot is 32 bytes, not {} (a contract call is of kind \"call\")",
                        query.key.len()
                    ),
                })?)
            }
            ReadKind::Call => None,
        };
        let height = match query.at {
            ReadAt::Height(h) => h,
            ReadAt::Final => final_height(&self.rpc, self.finality)
                .await?
                .ok_or_else(|| Error::MissingData {
                    what: "a final block".into(),
                })?,
        };
        let block = super::block_at(&self.rpc, height).await?;
        let Some(slot) = slot else {
            let proof = self
                .proven_call(address, Bytes::from(query.key.clone()), height, &block)
                .await?;
            return Ok(StateRead {
                at: BlockRef {
                    height,
                    id: BlockId::from(block.header.hash.0),
                },
                value: proof.output.to_vec(),
                proof: proof.to_native_proof()?,
            });
        };
        let response = self
            .rpc
            .call("eth_getProof", |p| async move {
                p.get_proof(address, vec![slot]).number(height).await
            })
            .await?;
        let storage =
            response
                .storage_proof
                .into_iter()
                .next()
                .ok_or_else(|| Error::MissingData {
                    what: format!("storage proof of slot {slot}"),
                })?;
        let proof = EvmStateProof {
            header: Bytes::from(alloy::rlp::encode(&block.header.inner)),
            address,
            slot,
            account: EvmAccount {
                nonce: response.nonce,
                balance: response.balance,
                storage_root: response.storage_hash,
                code_hash: response.code_hash,
            },
            account_proof: response.account_proof,
            storage_proof: storage.proof,
            value: storage.value,
        };
        proof.verify(&hash32(block.header.hash))?;
        Ok(StateRead {
            at: BlockRef {
                height,
                id: BlockId::from(block.header.hash.0),
            },
            value: proof.value.to_be_bytes::<32>().to_vec(),
            proof: proof.to_native_proof()?,
        })
    }
}
