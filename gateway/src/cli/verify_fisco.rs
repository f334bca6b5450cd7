//! `causeway verify` for bundles from a FISCO BCOS origin: the trust file's
//! `"source": { "family": "fisco", … }` (the group's sealers and crypto mode, the Outbox) and,
//! with `--rpc`, the state read that confirms each message.
//!
//! Why a proof alone is not enough: FISCO BCOS hashes a receipt's fields without lengths, so
//! another contract's log can be split into a forged `Dispatch` with the same receipt hash,
//! proof and seal (docs/fisco.md, "Receipt hash"). The `FiscoOutbox` records every id it
//! emits; with `--rpc` a node of the group is asked (`dispatched(id)`), and without it the
//! verdict says the message is unproved.

use anyhow::{Context, Result, anyhow, ensure};
use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::ObservedMessage;
use causeway_adapters::fisco::{FiscoNativeVerifier, FiscoRpc};
use causeway_adapters::redact_endpoint;
use causeway_proofs::evm::Unproved;
use causeway_proofs::fisco::{CryptoMode, NodeKey, SealerSet};
use causeway_proofs::{EvmAddress, Hash32};
use serde::Deserialize;

use super::verify::Refusal;

/// A FISCO BCOS group's trust: its sealers (a block counts when 2f+1 of them signed it), its
/// crypto mode and its `FiscoOutbox`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FiscoTrust {
    /// `"ecdsa"` or `"sm"`: the chain's `[chain] sm_crypto`.
    crypto: CryptoMode,
    /// The group's sealers' node ids (128 hex digits, from `getSealerList`), at least four.
    sealers: Vec<String>,
    /// The `FiscoOutbox` address.
    outbox: EvmAddress,
    /// The group, for `--rpc` (default `group0`).
    #[serde(default = "default_group")]
    group: String,
}

fn default_group() -> String {
    "group0".to_owned()
}

/// What a FISCO BCOS trust checks with.
pub(crate) struct FiscoCheck {
    verifier: FiscoNativeVerifier,
    mode: CryptoMode,
    outbox: EvmAddress,
    group: String,
}

impl FiscoTrust {
    /// The checker: the sealers parsed as points of the mode's curve, distinct, at least four.
    pub(crate) fn build(self) -> Result<FiscoCheck> {
        let keys = self
            .sealers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                NodeKey::from_hex(self.crypto, s).map_err(|e| {
                    anyhow!(
                        "sealers[{i}] of the FISCO BCOS source: {e} (give each sealer's node id, \
                         128 hex digits, as getSealerList lists it)"
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let set = SealerSet::new(self.crypto, keys).context("the FISCO BCOS source's sealers")?;
        Ok(FiscoCheck {
            verifier: FiscoNativeVerifier::new(set, self.outbox),
            mode: self.crypto,
            outbox: self.outbox,
            group: self.group,
        })
    }
}

impl FiscoCheck {
    /// The proof's checker.
    pub(crate) fn verifier(&self) -> &FiscoNativeVerifier {
        &self.verifier
    }

    /// The group `--rpc` must serve.
    pub(crate) fn group(&self) -> &str {
        &self.group
    }

    /// Checks `observed`'s proof offline; then, with `node`, that its block is the group's and
    /// that the Outbox recorded the message. Returns what the verdict reports: the node's
    /// confirmation, or why the message is unproved.
    pub(crate) fn check(
        &self,
        observed: &ObservedMessage,
        node: Option<&FiscoNode>,
    ) -> Result<(Option<String>, Vec<Unproved>), Refusal> {
        self.verifier
            .verify(observed)
            .map_err(|e| Refusal::Invalid(format!("native proof: {e}")))?;
        let Some(node) = node else {
            return Ok((
                None,
                vec![Unproved {
                    field: "message",
                    reason: "a FISCO BCOS receipt proof alone does not show that the Outbox sent \
                             it: FISCO BCOS hashes receipts without field lengths, so another \
                             contract's log can be split into a forged Dispatch under the same \
                             proof and seal (docs/fisco.md); pass --rpc URL of a node of the \
                             group you trust, and the Outbox's record of the message is read"
                        .to_owned(),
                }],
            ));
        };
        let source = &observed.source;
        let (Some(number), Some(hash)) = (source.block_number, source.block_hash) else {
            return Err(Refusal::Invalid(
                "the source reference names no block number and hash".to_owned(),
            ));
        };
        let unchecked = |e: anyhow::Error| {
            Refusal::Unchecked(format!(
                "the proof could not be confirmed with the node at {}: {e:#}",
                node.shown
            ))
        };
        match node.block_hash(number, self.mode).map_err(unchecked)? {
            None => {
                return Err(Refusal::Invalid(format!(
                    "group {} at {} has no block {number}: the proof's block {hash} is not on it",
                    self.group, node.shown
                )));
            }
            Some(on_chain) if on_chain != hash => {
                return Err(Refusal::Invalid(format!(
                    "block {number} of group {} at {} has hash {on_chain}, not the proof's {hash}: \
                     the proof's block is not the group's (another group sealed by the same \
                     nodes?)",
                    self.group, node.shown
                )));
            }
            Some(_) => {}
        }
        let id = observed.message.id();
        if !node
            .recorded(&self.outbox, &id.0, number)
            .map_err(unchecked)?
        {
            return Err(Refusal::Invalid(format!(
                "the Outbox {} has no record of message {} (dispatched(id) is false at {}): \
                 the proof's Dispatch log is forged from another contract's log data (FISCO \
                 BCOS receipt hashes have no field lengths, docs/fisco.md)",
                self.outbox,
                id.to_hex(),
                node.shown
            )));
        }
        Ok((
            Some(format!(
                "block {number} is the group's and the Outbox recorded the message \
                 (dispatched(id) at {})",
                node.shown
            )),
            Vec::new(),
        ))
    }
}

/// A node of the origin group (`--rpc`), asked synchronously.
pub(crate) struct FiscoNode {
    rpc: FiscoRpc,
    shown: String,
    runtime: tokio::runtime::Runtime,
}

impl FiscoNode {
    /// Connects to `url` and checks that it serves `group`.
    pub(crate) fn connect(url: &str, group: &str) -> Result<Self> {
        let shown = redact_endpoint(url);
        ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--rpc {shown} must be an http or https URL"
        );
        let rpc = FiscoRpc::new(url, group).with_context(|| format!("--rpc {shown}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("while starting the runtime for --rpc")?;
        let node = FiscoNode {
            rpc,
            shown,
            runtime,
        };
        node.runtime
            .block_on(node.rpc.block_number())
            .with_context(|| {
                format!(
                    "the node at {} does not answer for group {group}: point --rpc at a node of \
                     the trust file's group (its \"group\", default group0)",
                    node.shown
                )
            })?;
        Ok(node)
    }

    /// The hash of the group's block `number` (recomputed from its header), or `None`.
    fn block_hash(&self, number: u64, mode: CryptoMode) -> Result<Option<Hash32>> {
        let head = self.runtime.block_on(self.rpc.block_number())?;
        if number > head {
            return Ok(None);
        }
        let block = self.runtime.block_on(self.rpc.block(number, true))?;
        let header = block.header()?;
        Ok(Some(header.hash(mode)))
    }

    /// Whether the Outbox recorded message `id` of block `number`.
    fn recorded(&self, outbox: &EvmAddress, id: &Hash32, number: u64) -> Result<bool> {
        Ok(self
            .runtime
            .block_on(self.rpc.dispatched(outbox, id, number))?)
    }
}
