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
use crate::chain::{BlockId, BlockRef, ReadAt, StateQuery, StateRead, StateReader};

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
    fn rlp(&self) -> Vec<u8> {
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
    fn is_empty(&self) -> bool {
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
        let nodes = |p: &[Bytes]| p.iter().map(|b| b.to_vec()).collect::<Vec<_>>();

        let account_nodes = nodes(&self.account_proof);
        let account_key = keccak256(self.address);
        match verify_proof(&header.state_root, account_key.as_slice(), &account_nodes)
            .map_err(proof_error)?
        {
            Some(value) if value == self.account.rlp().as_slice() => {}
            Some(_) => {
                return Err(invalid(
                    "the account proof proves other account fields".into(),
                ));
            }
            None if self.account.is_empty() => {}
            None => {
                return Err(invalid(
                    "the account proof proves the account absent".into(),
                ));
            }
        }

        let mut storage_nodes = nodes(&self.storage_proof);
        // An empty trie's root is keccak256(rlp("")); some nodes (anvil, reth) prove absence in
        // it with that one node, `0x80`, others with no node at all. Both mean "absent".
        if self.account.storage_root == EMPTY_ROOT_HASH && storage_nodes == [vec![0x80u8]] {
            storage_nodes.clear();
        }
        let slot_key = keccak256(self.slot);
        let root = Hash32(self.account.storage_root.0);
        match verify_proof(&root, slot_key.as_slice(), &storage_nodes).map_err(proof_error)? {
            Some(mut value) => {
                let proven = U256::decode(&mut value).map_err(|e| {
                    invalid(format!(
                        "the proven storage value is not an RLP integer: {e}"
                    ))
                })?;
                if !value.is_empty() || proven != self.value || proven.is_zero() {
                    return Err(invalid(format!(
                        "the storage proof proves {proven}, the read says {}",
                        self.value
                    )));
                }
            }
            None if self.value.is_zero() => {}
            None => {
                return Err(invalid(format!(
                    "the storage proof proves the slot empty, the read says {}",
                    self.value
                )));
            }
        }
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

/// Reads EVM storage with proofs (a cloneable handle).
#[derive(Clone, Debug)]
pub struct EvmStateReader {
    rpc: Rpc,
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
        let slot = B256::try_from(query.key.as_slice()).map_err(|_| Error::InvalidQuery {
            reason: format!("an EVM storage slot is 32 bytes, not {}", query.key.len()),
        })?;
        let height = match query.at {
            ReadAt::Height(h) => h,
            ReadAt::Final => final_height(&self.rpc, self.finality)
                .await?
                .ok_or_else(|| Error::MissingData {
                    what: "a final block".into(),
                })?,
        };
        let block = super::block_at(&self.rpc, height).await?;
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
