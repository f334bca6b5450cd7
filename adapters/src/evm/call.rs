//! [`EvmCallProof`]: a contract call's return data, proven by re-executing the call in revm over
//! exactly the state `eth_getProof` proved at a final block, and [`EvmStateReader::call`], which
//! gathers that state from a node.
//!
//! A node's `eth_call` answer is only its word. What can be proven is the state the call reads:
//! each account it touches (proven against the block's state root), each storage slot (against
//! the account's storage root) and the code it runs (hashed against the proven code hash). The
//! verifier executes the call over that state alone: a read of anything the proof does not
//! cover (an account, a slot, code, a block hash other than the parent's) stops the execution
//! with an error, never reads as zero. The block environment comes from the proven header; the
//! chain id is the answering node's word (a header does not carry it), stated in the proof.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::consensus::Header;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rlp::Decodable;
use alloy::trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use causeway_proofs::Hash32;
use causeway_proofs::bundle::{ChainFamily, NativeProof};
use causeway_proofs::evm::header_hash;
use revm::context::result::{EVMError, ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database_interface::{DBErrorMarker, Database};
use revm::primitives::eip4844::{
    BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};
use serde::{Deserialize, Serialize};

use super::state::{EvmAccount, EvmStateReader, verify_account, verify_slot};
use crate::Error;

/// The caller of every proven call: the zero address, as `eth_call` without `from`.
pub const CALLER: Address = Address::ZERO;

/// The most gas a proven call may use (the block's gas limit when lower).
pub const MAX_CALL_GAS: u64 = 30_000_000;

/// The most accounts one call proof may carry.
pub const MAX_PROVEN_ACCOUNTS: usize = 256;

/// The most storage slots one call proof may carry (all accounts together).
pub const MAX_PROVEN_SLOTS: usize = 4096;

/// The most rounds of "execute, find what is missing, fetch its proof" the reader makes.
const MAX_ROUNDS: usize = 32;

/// One storage slot of a proven account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenSlot {
    /// The slot.
    pub slot: B256,
    /// Its value.
    pub value: U256,
    /// Storage proof nodes, root first.
    pub proof: Vec<Bytes>,
}

/// One account the call touches, with its proof and the proofs of the slots it reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenAccount {
    /// The account's address.
    pub address: Address,
    /// Its fields (the empty account when absent).
    pub account: EvmAccount,
    /// Account proof nodes, root first.
    pub account_proof: Vec<Bytes>,
    /// The slots the call reads.
    pub storage: Vec<ProvenSlot>,
}

/// Proof of a contract call's return data: header → state root → every account, slot and code
/// the call reads → the call re-executed over them → the output.
///
/// JSON (the `data` of the answer's native proof, family `evm`): `{"header":"0x…",
/// "chain_id":…, "to":"0x…", "data":"0x…", "accounts":[…], "code":["0x…"], "output":"0x…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmCallProof {
    /// The block header's RLP (the call runs at the end of this block).
    pub header: Bytes,
    /// The chain id the call saw (`CHAINID`): the answering node's word, not in the header.
    pub chain_id: u64,
    /// The contract called.
    pub to: Address,
    /// The call data.
    pub data: Bytes,
    /// The accounts the call touches (each once).
    pub accounts: Vec<ProvenAccount>,
    /// The code of the proven accounts that have code (each matching a proven code hash).
    pub code: Vec<Bytes>,
    /// The call's return data.
    pub output: Bytes,
}

/// What a call read that its proof does not cover.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unproven {
    #[error("account {0}")]
    Account(Address),
    #[error("storage slot {1} of {0}")]
    Slot(Address, B256),
    #[error("the code with hash {0}")]
    Code(B256),
    #[error("the hash of block {0} (only the parent block's hash is proven, by the header)")]
    BlockHash(u64),
}

impl DBErrorMarker for Unproven {}

/// How a re-executed call ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Returned(Bytes),
    Reverted(Bytes),
    Halted(String),
}

/// The proven state a call runs over: revm's database, which refuses anything else.
#[derive(Debug, Default)]
struct ProvenState {
    accounts: HashMap<Address, (EvmAccount, HashMap<B256, U256>)>,
    code: HashMap<B256, Bytecode>,
    parent: Option<(u64, B256)>,
}

impl Database for ProvenState {
    type Error = Unproven;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Unproven> {
        let (account, _) = self
            .accounts
            .get(&address)
            .ok_or(Unproven::Account(address))?;
        if account.is_empty() {
            return Ok(None);
        }
        let code = if account.code_hash == KECCAK_EMPTY {
            Some(Bytecode::default())
        } else {
            self.code.get(&account.code_hash).cloned()
        };
        Ok(Some(AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
            account_id: None,
            code,
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Unproven> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        self.code
            .get(&code_hash)
            .cloned()
            .ok_or(Unproven::Code(code_hash))
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Unproven> {
        let (account, slots) = self
            .accounts
            .get(&address)
            .ok_or(Unproven::Account(address))?;
        let slot = B256::from(index);
        if let Some(value) = slots.get(&slot) {
            return Ok(*value);
        }
        // An empty storage trie, proven by the account proof, holds zero in every slot.
        if account.storage_root == EMPTY_ROOT_HASH {
            return Ok(U256::ZERO);
        }
        Err(Unproven::Slot(address, slot))
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Unproven> {
        match self.parent {
            Some((n, hash)) if n == number => Ok(hash),
            _ => Err(Unproven::BlockHash(number)),
        }
    }
}

/// The hardfork a header's fields show (the newest whose header fields it carries). A chain past
/// Prague runs as Prague: a call whose result depends on a later rule fails to verify.
fn spec_of(header: &Header) -> SpecId {
    if header.requests_hash.is_some() {
        SpecId::PRAGUE
    } else if header.parent_beacon_block_root.is_some() {
        SpecId::CANCUN
    } else if header.withdrawals_root.is_some() {
        SpecId::SHANGHAI
    } else if header.base_fee_per_gas.is_some() {
        if header.difficulty.is_zero() {
            SpecId::MERGE
        } else {
            SpecId::LONDON
        }
    } else {
        SpecId::BERLIN
    }
}

fn decode_header(rlp: &[u8]) -> Result<Header, Error> {
    let mut bytes = rlp;
    let header = Header::decode(&mut bytes).map_err(|e| Error::InvalidNativeProof {
        reason: format!("the header is not an RLP block header: {e}"),
    })?;
    if !bytes.is_empty() {
        return Err(Error::InvalidNativeProof {
            reason: "the header has trailing bytes".into(),
        });
    }
    Ok(header)
}

/// Runs `to(data)` from [`CALLER`] at the end of `header`'s block over `state`, as `eth_call`
/// does: no fee (gas price and base fee zero), no nonce check.
fn execute(
    header: &Header,
    chain_id: u64,
    to: Address,
    data: &Bytes,
    state: ProvenState,
) -> Result<Result<Outcome, Unproven>, Error> {
    let spec = spec_of(header);
    let mut block = BlockEnv {
        number: U256::from(header.number),
        beneficiary: header.beneficiary,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: 0,
        difficulty: header.difficulty,
        prevrandao: (spec >= SpecId::MERGE).then_some(header.mix_hash),
        ..BlockEnv::default()
    };
    if let Some(excess) = header.excess_blob_gas {
        let fraction = if spec >= SpecId::PRAGUE {
            BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
        } else {
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
        };
        block.set_blob_excess_gas_and_price(excess, fraction);
    }
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = chain_id;
    cfg.disable_nonce_check = true;
    let tx = TxEnv::builder()
        .caller(CALLER)
        .call(to)
        .data(data.clone())
        .gas_limit(header.gas_limit.min(MAX_CALL_GAS))
        .gas_price(0)
        .chain_id(Some(chain_id))
        .build()
        .map_err(|e| Error::InvalidQuery {
            reason: format!("the call cannot be built: {e:?}"),
        })?;
    let mut evm = Context::mainnet()
        .with_db(state)
        .with_block(block)
        .with_cfg(cfg)
        .build_mainnet();
    match evm.transact(tx) {
        Ok(result) => Ok(Ok(match result.result {
            ExecutionResult::Success { output, .. } => match output {
                Output::Call(bytes) => Outcome::Returned(bytes),
                Output::Create(bytes, _) => Outcome::Returned(bytes),
            },
            ExecutionResult::Revert { output, .. } => Outcome::Reverted(output),
            ExecutionResult::Halt { reason, .. } => Outcome::Halted(format!("{reason:?}")),
        })),
        Err(EVMError::Database(missing)) => Ok(Err(missing)),
        Err(e) => Err(Error::InvalidNativeProof {
            reason: format!("the call cannot run: {e}"),
        }),
    }
}

impl EvmCallProof {
    /// Checks every account, slot and code against `expected_block_hash` (which the caller
    /// trusts), re-executes the call over that state alone and checks its output; returns the
    /// block number.
    pub fn verify(&self, expected_block_hash: &Hash32) -> Result<u64, Error> {
        let invalid = |reason: String| Error::InvalidNativeProof { reason };
        let (header, state) = self.proven_state(expected_block_hash)?;
        match execute(&header, self.chain_id, self.to, &self.data, state)? {
            Ok(Outcome::Returned(output)) if output == self.output => Ok(header.number),
            Ok(Outcome::Returned(output)) => Err(invalid(format!(
                "re-executed over the proven state the call returns {output}, the answer says {}",
                self.output
            ))),
            Ok(Outcome::Reverted(data)) => Err(invalid(format!(
                "re-executed over the proven state the call reverts ({data})"
            ))),
            Ok(Outcome::Halted(reason)) => Err(invalid(format!(
                "re-executed over the proven state the call halts ({reason})"
            ))),
            Err(missing) => Err(invalid(format!(
                "the call reads {missing}, which the proof does not prove"
            ))),
        }
    }

    /// The header and the state the proof proves, every piece checked.
    fn proven_state(&self, expected_block_hash: &Hash32) -> Result<(Header, ProvenState), Error> {
        let invalid = |reason: String| Error::InvalidNativeProof { reason };
        let computed = header_hash(&self.header);
        if computed != *expected_block_hash {
            return Err(invalid(format!(
                "header hashes to {computed}, not the expected block {expected_block_hash}"
            )));
        }
        let header = decode_header(&self.header)?;
        if self.accounts.len() > MAX_PROVEN_ACCOUNTS {
            return Err(invalid(format!(
                "{} accounts, more than {MAX_PROVEN_ACCOUNTS}",
                self.accounts.len()
            )));
        }
        let slots: usize = self.accounts.iter().map(|a| a.storage.len()).sum();
        if slots > MAX_PROVEN_SLOTS {
            return Err(invalid(format!(
                "{slots} storage slots, more than {MAX_PROVEN_SLOTS}"
            )));
        }
        let state_root = Hash32(header.state_root.0);
        let mut state = ProvenState {
            parent: header
                .number
                .checked_sub(1)
                .map(|n| (n, header.parent_hash)),
            ..ProvenState::default()
        };
        for proven in &self.accounts {
            verify_account(
                &state_root,
                proven.address,
                &proven.account,
                &proven.account_proof,
            )?;
            let mut values = HashMap::with_capacity(proven.storage.len());
            for s in &proven.storage {
                verify_slot(&proven.account, s.slot, s.value, &s.proof)?;
                if values.insert(s.slot, s.value).is_some() {
                    return Err(invalid(format!(
                        "slot {} of {} is proven twice",
                        s.slot, proven.address
                    )));
                }
            }
            if state
                .accounts
                .insert(proven.address, (proven.account, values))
                .is_some()
            {
                return Err(invalid(format!(
                    "account {} is proven twice",
                    proven.address
                )));
            }
        }
        let hashes: BTreeSet<B256> = state.accounts.values().map(|(a, _)| a.code_hash).collect();
        for code in &self.code {
            let hash = keccak256(code);
            if !hashes.contains(&hash) || hash == KECCAK_EMPTY {
                return Err(invalid(format!(
                    "code with hash {hash} is no proven account's code"
                )));
            }
            let bytecode = Bytecode::new_raw_checked(code.clone())
                .map_err(|e| invalid(format!("code with hash {hash} does not decode: {e:?}")))?;
            state.code.insert(hash, bytecode);
        }
        Ok((header, state))
    }

    /// The proof as a native proof of family `evm`.
    pub fn to_native_proof(&self) -> Result<NativeProof, Error> {
        let data = serde_json::to_value(self).map_err(|e| Error::Decode {
            what: "EVM call proof",
            reason: e.to_string(),
        })?;
        Ok(NativeProof {
            family: ChainFamily::Evm,
            data,
        })
    }

    /// The call proof a native proof carries.
    pub fn from_native_proof(proof: &NativeProof) -> Result<Self, Error> {
        if proof.family != ChainFamily::Evm {
            return Err(Error::Decode {
                what: "EVM call proof",
                reason: format!("native proof is of family {:?}, not evm", proof.family),
            });
        }
        EvmCallProof::deserialize(&proof.data).map_err(|e| Error::Decode {
            what: "EVM call proof",
            reason: e.to_string(),
        })
    }
}

/// What the reader still has to fetch: accounts and, per account, slots.
type Wanted = BTreeMap<Address, BTreeSet<B256>>;

impl EvmStateReader {
    /// `to(data)` at block `height` (final), re-executed over proven state: the accounts and
    /// slots `eth_createAccessList` names (with the caller, the callee and the block's
    /// beneficiary) are fetched with `eth_getProof`, the code of each with `eth_getCode`, and
    /// the call runs locally; whatever else it reads is fetched and the call run again, at most
    /// [`MAX_ROUNDS`] times. The result must equal the node's own `eth_call`.
    pub(super) async fn proven_call(
        &self,
        to: Address,
        data: Bytes,
        height: u64,
        block: &alloy::rpc::types::Block,
    ) -> Result<EvmCallProof, Error> {
        use alloy::providers::Provider;
        use alloy::rpc::types::TransactionRequest;

        let header_rlp = Bytes::from(alloy::rlp::encode(&block.header.inner));
        let header = block.header.inner.clone();
        let chain_id = self
            .rpc
            .call("eth_chainId", |p| async move { p.get_chain_id().await })
            .await?;
        let request = TransactionRequest::default()
            .from(CALLER)
            .to(to)
            .input(data.clone().into());
        // The access list only saves rounds: a node that refuses it (a call that reverts, a
        // node without the method) leaves the discovery to the local execution.
        let listed = {
            let request = request.clone();
            match self
                .rpc
                .call("eth_createAccessList", move |p| {
                    let request = request.clone();
                    async move { p.create_access_list(&request).number(height).await }
                })
                .await
            {
                Ok(result) => result.access_list.0,
                Err(Error::Rpc { .. }) => Vec::new(),
                Err(e) => return Err(e),
            }
        };
        let mut wanted: Wanted = BTreeMap::new();
        for a in [CALLER, to, header.beneficiary] {
            wanted.entry(a).or_default();
        }
        for item in listed {
            wanted
                .entry(item.address)
                .or_default()
                .extend(item.storage_keys);
        }

        let mut proof = EvmCallProof {
            header: header_rlp,
            chain_id,
            to,
            data,
            accounts: Vec::new(),
            code: Vec::new(),
            output: Bytes::new(),
        };
        let block_hash = Hash32(block.header.hash.0);
        for _ in 0..MAX_ROUNDS {
            self.fetch(&mut proof, &wanted, height).await?;
            let (header, state) = proof.proven_state(&block_hash)?;
            let run_data = proof.data.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                execute(&header, chain_id, to, &run_data, state)
            })
            .await
            .map_err(|e| Error::InvalidNativeProof {
                reason: format!("the call's execution failed: {e}"),
            })??;
            match outcome {
                Ok(Outcome::Returned(output)) => {
                    self.check_against_node(&request, height, &output).await?;
                    proof.output = output;
                    return Ok(proof);
                }
                Ok(Outcome::Reverted(data)) => {
                    return Err(Error::Reverted {
                        reason: super::bindings::decode_revert(&data),
                    });
                }
                // Out of gas, an invalid opcode: no answer exists for this call at this block
                // (the chain's refusal, as a revert is; not a malformed query).
                Ok(Outcome::Halted(reason)) => {
                    return Err(Error::CallHalted { height, reason });
                }
                Err(Unproven::Account(a)) => {
                    wanted.entry(a).or_default();
                }
                Err(Unproven::Slot(a, s)) => {
                    wanted.entry(a).or_default().insert(s);
                }
                Err(missing @ (Unproven::Code(_) | Unproven::BlockHash(_))) => {
                    return Err(Error::InvalidQuery {
                        reason: format!(
                            "the call reads {missing}, which this gateway cannot prove"
                        ),
                    });
                }
            }
        }
        Err(Error::InvalidQuery {
            reason: format!(
                "the call still read unproven state after {MAX_ROUNDS} rounds of proofs"
            ),
        })
    }

    /// Adds to `proof` the accounts and slots of `wanted` it lacks, with the code of new
    /// accounts that have code.
    async fn fetch(
        &self,
        proof: &mut EvmCallProof,
        wanted: &Wanted,
        height: u64,
    ) -> Result<(), Error> {
        use alloy::providers::Provider;

        for (address, slots) in wanted {
            let known = proof.accounts.iter().position(|a| a.address == *address);
            let missing: Vec<B256> = match known {
                Some(i) => {
                    let have: BTreeSet<B256> =
                        proof.accounts[i].storage.iter().map(|s| s.slot).collect();
                    slots.difference(&have).copied().collect()
                }
                None => slots.iter().copied().collect(),
            };
            if known.is_some() && missing.is_empty() {
                continue;
            }
            if proof.accounts.len() >= MAX_PROVEN_ACCOUNTS && known.is_none() {
                return Err(Error::InvalidQuery {
                    reason: format!("the call touches more than {MAX_PROVEN_ACCOUNTS} accounts"),
                });
            }
            let address = *address;
            let response = self
                .rpc
                .call("eth_getProof", |p| {
                    let missing = missing.clone();
                    async move { p.get_proof(address, missing).number(height).await }
                })
                .await?;
            let storage = response.storage_proof.into_iter().map(|s| ProvenSlot {
                slot: s.key.as_b256(),
                value: s.value,
                proof: s.proof,
            });
            match known {
                Some(i) => proof.accounts[i].storage.extend(storage),
                None => {
                    let account = EvmAccount {
                        nonce: response.nonce,
                        balance: response.balance,
                        storage_root: response.storage_hash,
                        code_hash: response.code_hash,
                    };
                    if account.code_hash != KECCAK_EMPTY
                        && !account.code_hash.is_zero()
                        && !proof.code.iter().any(|c| keccak256(c) == account.code_hash)
                    {
                        let code = self
                            .rpc
                            .call("eth_getCode", |p| async move {
                                p.get_code_at(address).number(height).await
                            })
                            .await?;
                        if keccak256(&code) != account.code_hash {
                            return Err(Error::InvalidNativeProof {
                                reason: format!(
                                    "the node's code of {address} does not hash to its proven code hash"
                                ),
                            });
                        }
                        proof.code.push(code);
                    }
                    proof.accounts.push(ProvenAccount {
                        address,
                        account,
                        account_proof: response.account_proof,
                        storage: storage.collect(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The node's own `eth_call` at `height` must return `output`: otherwise this gateway's EVM
    /// and the chain's disagree (a rule it does not follow), and nothing is answered.
    async fn check_against_node(
        &self,
        request: &alloy::rpc::types::TransactionRequest,
        height: u64,
        output: &Bytes,
    ) -> Result<(), Error> {
        use alloy::providers::Provider;
        let node = self
            .rpc
            .call("eth_call", |p| {
                let request = request.clone();
                async move { p.call(request).block(height.into()).await }
            })
            .await;
        match node {
            Ok(answer) if answer == *output => Ok(()),
            Ok(answer) => Err(Error::InvalidNativeProof {
                reason: format!(
                    "re-executed over the proven state the call returns {output}, the node's \
                     eth_call {answer}: this gateway's EVM does not follow one of the chain's rules"
                ),
            }),
            Err(e) => Err(Error::InvalidNativeProof {
                reason: format!(
                    "re-executed over the proven state the call returns {output}, the node's \
                     eth_call fails: {e}"
                ),
            }),
        }
    }
}
