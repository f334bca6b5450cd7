//! `ProofBundle::from_json` on arbitrary UTF-8, then `verify` against a fixed trust anchor: never
//! panics; whatever parses prints and re-parses to the same bundle.
//!
//! Seed with `seeds/bundle_json/` (a valid bundle for this very trust anchor, so mutations reach
//! the inclusion and signature checks): `cargo fuzz run bundle_json corpus/bundle_json seeds/bundle_json`.
#![no_main]

use std::sync::LazyLock;

use causeway_proofs::{
    Domain, EvmAddress, ProofBundle, SigningDomain, TrustAnchor, ValidatorKey, ValidatorSet,
};
use libfuzzer_sys::fuzz_target;

/// Validators with secret keys 0x01…01, 0x02…02, 0x03…03; 2 of 3; origin 1 (chain 31337) to
/// destination 2 (chain 31338), Inbox 0x5f…5f, epoch 1.
static TRUST: LazyLock<TrustAnchor> = LazyLock::new(|| {
    let members = (1u8..=3)
        .map(|i| {
            ValidatorKey::from_bytes(&[i; 32])
                .expect("small non-zero scalars are valid keys")
                .address()
        })
        .collect();
    TrustAnchor {
        signing_domain: SigningDomain {
            origin: Domain(1),
            origin_chain_id: 31337,
            destination: Domain(2),
            destination_chain_id: 31338,
            inbox: SigningDomain::evm_inbox(EvmAddress([0x5f; 20])),
            validator_epoch: 1,
        },
        validators: ValidatorSet::new(members, 2).expect("three distinct validators, threshold 2"),
    }
});

fuzz_target!(|json: &str| {
    if let Ok(bundle) = ProofBundle::from_json(json) {
        let _ = bundle.verify(&TRUST);
        let again = ProofBundle::from_json(&bundle.to_json_pretty())
            .expect("a printed bundle always parses");
        assert_eq!(again, bundle, "print/parse changed the bundle");
    }
});
