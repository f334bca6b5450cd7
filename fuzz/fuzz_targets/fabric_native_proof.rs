//! Fabric native proofs from untrusted input, as `causeway verify` and the relayer's verify stage
//! read them: the first byte picks the form, the rest is either the proof's JSON data
//! (`{"block": "<base64>", "tx_index": n}`, parsed by `FabricSourceProof::from_native_proof`) or
//! the raw bytes of a block, wrapped in a proof of its first transaction. Either is then checked
//! by a `FabricNativeVerifier` of a fixed test network against a source reference taken from the
//! block itself, so that the checks past the block hash (orderer signatures, validation code,
//! transaction, creator, endorsements, event) see the fuzzer's bytes. Nothing may panic.
#![no_main]

use std::sync::OnceLock;

use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::fabric::testkit::{DOMAIN, Net, message};
use causeway_proofs::fabric::{
    FabricBlock, FabricNativeVerifier, FabricSourceProof, FabricTransaction,
};
use causeway_proofs::Hash32;
use libfuzzer_sys::fuzz_target;

/// One verifier for the whole run (the test network's keys are generated once).
fn verifier() -> &'static FabricNativeVerifier {
    static VERIFIER: OnceLock<FabricNativeVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        FabricNativeVerifier::new(DOMAIN, Net::new().config()).expect("the test network's config")
    })
}

/// The source reference a source would give transaction `tx_index` of `block`.
fn source_of(block: &FabricBlock, tx_index: u32) -> SourceReference {
    let tx_id = block
        .data()
        .data
        .get(tx_index as usize)
        .and_then(|bytes| FabricTransaction::decode(tx_index as usize, bytes).ok())
        .map(|tx| tx.tx_id().to_owned());
    SourceReference {
        block_number: Some(block.number()),
        block_hash: Some(Hash32(block.header_hash().0)),
        transaction_hash: None,
        fabric_tx_id: Some(tx_id.unwrap_or_default()),
        event_index: Some(0),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let proof = if mode & 1 == 0 {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(rest) else {
            return;
        };
        NativeProof {
            family: ChainFamily::Fabric,
            data: json,
        }
    } else {
        let Ok(block) = FabricBlock::decode(rest) else {
            return;
        };
        FabricSourceProof {
            block,
            tx_index: u32::from(mode >> 1),
        }
        .to_native_proof()
    };
    let Ok(parsed) = FabricSourceProof::from_native_proof(&proof) else {
        return;
    };
    let source = source_of(&parsed.block, parsed.tx_index);
    let _ = verifier().check(&message(7), &source, &proof);
});
