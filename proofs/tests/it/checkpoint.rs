//! Checkpoint signing digest (EIP-712 style, notes/wire.md) pinned against values computed
//! outside this crate, and the checkpoint's own invariants.

#![allow(clippy::unwrap_used)]

use causeway_proofs::attestation::recover;
use causeway_proofs::checkpoint::{CHECKPOINT_TYPE, DOMAIN_TYPE};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{
    Address32, Checkpoint, Domain, Error, EvmAddress, Hash32, HashAlgorithm, LogSize, Signature,
    SigningDomain, ValidatorKey,
};

fn h(s: &str) -> Hash32 {
    s.parse().unwrap()
}

/// The example lane: anvil's two default chain ids, the address anvil gives the first contract
/// deployed by its first account, epoch 7.
fn domain() -> SigningDomain {
    SigningDomain {
        origin: Domain(1),
        origin_chain_id: 31337,
        destination: Domain(2),
        destination_chain_id: 31338,
        inbox: SigningDomain::evm_inbox(
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                .parse()
                .unwrap(),
        ),
        validator_epoch: 7,
    }
}

/// RFC 6962's 8-leaf example root (SHA-256), as a realistic root value.
fn checkpoint() -> Checkpoint {
    Checkpoint::new(
        Domain(1),
        HashAlgorithm::Sha256,
        LogSize(8),
        h("0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    )
    .unwrap()
}

#[test]
fn type_strings_are_exactly_the_wire_spec() {
    // notes/wire.md, verbatim.
    assert_eq!(
        DOMAIN_TYPE,
        "CausewayDomain(string name,string version,uint32 originDomain,uint256 originChainId,uint32 destinationDomain,uint256 destinationChainId,bytes32 inbox,uint64 validatorEpoch)"
    );
    assert_eq!(
        CHECKPOINT_TYPE,
        "Checkpoint(uint8 version,uint32 originDomain,uint8 hashAlgorithm,uint64 logSize,bytes32 root)"
    );
    // Typehashes computed independently with Python pycryptodome (Crypto.Hash.keccak) over the
    // same strings; the Solidity Inbox will hard-code these constants.
    assert_eq!(
        keccak256(DOMAIN_TYPE.as_bytes()),
        h("0x7d3f5f07eda3e5fa768b8b9cad11aae1c3307e5398552abc7c31e3468005d55a")
    );
    assert_eq!(
        keccak256(CHECKPOINT_TYPE.as_bytes()),
        h("0xac0c5f61b167fb71a3387a18ba22219b04786d1c7e1cce5c9817525c30893235")
    );
}

/// Pinned digest. Obtained with a separate Python 3 script (pycryptodome 3.x for keccak-256,
/// abi.encode written out as 32-byte big-endian words):
/// `sep = k(k(DOMAIN_TYPE) ‖ k("Causeway") ‖ k("1") ‖ u(1) ‖ u(31337) ‖ u(2) ‖ u(31338) ‖ inbox ‖ u(7))`,
/// `sh = k(k(CHECKPOINT_TYPE) ‖ u(1) ‖ u(1) ‖ u(1) ‖ u(8) ‖ root)`, `digest = k(0x1901 ‖ sep ‖ sh)`.
#[test]
fn signing_digest_matches_independent_computation() {
    let d = domain();
    let c = checkpoint();
    assert_eq!(
        d.separator(),
        h("0xac29bfbbf9b32b9c22dd3a193c9c21b1a2a06621462317ae4c2ebfeeea8dcbac")
    );
    assert_eq!(
        c.struct_hash(),
        h("0x1bc50c373dbf23d46c13d9e774e5b501f5c9b2ae5b2fc8ee9369612950a33373")
    );
    assert_eq!(
        c.signing_digest(&d),
        h("0xc9da6a7b61b0a2718359994361e47e43c3a413c95075f10fe5fe0584239858cf")
    );
}

/// The same digest written out here by hand as abi.encode, a second check independent of the
/// crate's encoder.
#[test]
fn signing_digest_matches_hand_written_abi_encoding() {
    fn word(v: u64) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&v.to_be_bytes());
        w
    }
    let d = domain();
    let c = checkpoint();
    let mut sep = Vec::new();
    sep.extend_from_slice(&keccak256(DOMAIN_TYPE.as_bytes()).0);
    sep.extend_from_slice(&keccak256(b"Causeway").0);
    sep.extend_from_slice(&keccak256(b"1").0);
    for v in [1, 31337, 2, 31338] {
        sep.extend_from_slice(&word(v));
    }
    sep.extend_from_slice(&d.inbox.0);
    sep.extend_from_slice(&word(7));
    let mut st = Vec::new();
    st.extend_from_slice(&keccak256(CHECKPOINT_TYPE.as_bytes()).0);
    for v in [1, 1, 1, 8] {
        st.extend_from_slice(&word(v));
    }
    st.extend_from_slice(&c.root().0);
    let mut pre = vec![0x19, 0x01];
    pre.extend_from_slice(&keccak256(&sep).0);
    pre.extend_from_slice(&keccak256(&st).0);
    assert_eq!(c.signing_digest(&d), keccak256(&pre));
}

/// Pinned signature: the web3.js documentation's example key 0x4c0883a6…2318 (address
/// 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23) signing the digest above; r, s and v computed
/// independently with python-ecdsa (RFC 6979 with SHA-256, s normalised to low-s, v from the
/// parity of R's y coordinate).
#[test]
fn checkpoint_signature_matches_independent_computation() {
    let key = ValidatorKey::from_bytes(
        &hex::decode("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
            .unwrap()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let address: EvmAddress = "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
        .parse()
        .unwrap();
    assert_eq!(key.address(), address);
    let expected: Signature = "0x2971e956d7183674769f5e4a1f148429dfab21d8e9267be0b5452f9bad858f8e071eb0fd42bf1b45c783530245c667f84c12df9ff9f9f782e64a46b56c4322c21c".parse().unwrap();
    let sig = key.sign_checkpoint(&checkpoint(), &domain());
    assert_eq!(sig, expected);
    assert_eq!(
        recover(&checkpoint().signing_digest(&domain()), &sig, 0),
        Ok(address)
    );
}

#[test]
fn every_field_changes_the_digest() {
    let base = checkpoint().signing_digest(&domain());
    let mut domains = Vec::new();
    for f in 0..6 {
        let mut d = domain();
        match f {
            0 => d.origin = Domain(9),
            1 => d.origin_chain_id += 1,
            2 => d.destination = Domain(9),
            3 => d.destination_chain_id += 1,
            4 => d.inbox.0[31] ^= 1,
            _ => d.validator_epoch += 1,
        }
        domains.push(d);
    }
    for d in &domains {
        assert_ne!(checkpoint().signing_digest(d), base, "{d:?}");
    }
    let c = checkpoint();
    let others = [
        Checkpoint::new(Domain(9), c.hash_algorithm(), c.size(), c.root()).unwrap(),
        Checkpoint::new(c.origin(), HashAlgorithm::Keccak256, c.size(), c.root()).unwrap(),
        Checkpoint::new(c.origin(), HashAlgorithm::Sm3, c.size(), c.root()).unwrap(),
        Checkpoint::new(c.origin(), c.hash_algorithm(), LogSize(9), c.root()).unwrap(),
        Checkpoint::new(c.origin(), c.hash_algorithm(), c.size(), Hash32([1; 32])).unwrap(),
    ];
    for o in &others {
        assert_ne!(o.signing_digest(&domain()), base, "{o:?}");
    }
}

#[test]
fn zero_root_is_never_a_checkpoint() {
    assert_eq!(
        Checkpoint::new(Domain(1), HashAlgorithm::Sha256, LogSize(3), Hash32::ZERO),
        Err(Error::ZeroRoot)
    );
    let json = format!(
        r#"{{"version":1,"origin":1,"hash_algorithm":"sha256","size":3,"root":"0x{}"}}"#,
        "00".repeat(32)
    );
    assert!(serde_json::from_str::<Checkpoint>(&json).is_err());
}

#[test]
fn checkpoint_for_another_origin_is_wrong_domain() {
    let c = Checkpoint::new(
        Domain(5),
        HashAlgorithm::Sha256,
        LogSize(8),
        Hash32([3; 32]),
    )
    .unwrap();
    assert_eq!(
        c.check_domain(&domain()),
        Err(Error::WrongDomain {
            expected: Domain(1),
            actual: Domain(5)
        })
    );
    assert_eq!(checkpoint().check_domain(&domain()), Ok(()));
}

#[test]
fn json_forms() {
    let c = checkpoint();
    let j = serde_json::to_value(c).unwrap();
    assert_eq!(
        j,
        serde_json::json!({
            "version": 1, "origin": 1, "hash_algorithm": "sha256", "size": 8,
            "root": "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        })
    );
    assert_eq!(serde_json::from_value::<Checkpoint>(j.clone()).unwrap(), c);
    let mut v2 = j.clone();
    v2["version"] = 2.into();
    assert!(serde_json::from_value::<Checkpoint>(v2).is_err());
    let mut extra = j;
    extra["extra"] = 1.into();
    assert!(serde_json::from_value::<Checkpoint>(extra).is_err());

    let d = domain();
    let dj = serde_json::to_value(d).unwrap();
    assert_eq!(
        dj,
        serde_json::json!({
            "origin": 1, "origin_chain_id": 31337, "destination": 2, "destination_chain_id": 31338,
            "inbox": "0x0000000000000000000000005fbdb2315678afecb367f032d93f642f64180aa3",
            "validator_epoch": 7
        })
    );
    assert_eq!(serde_json::from_value::<SigningDomain>(dj).unwrap(), d);
}

#[test]
fn named_inbox_is_keccak_of_the_name() {
    // keccak-256("mychannel/inbox"), computed independently with pycryptodome.
    assert_eq!(
        SigningDomain::named_inbox("mychannel/inbox"),
        Address32(h("0x928ba2735bf58dab073061de419bf3712f41dcd0b56fbc9fbd7e0841f8543555").0)
    );
    assert_eq!(SigningDomain::named_inbox("mychannel/inbox").to_evm(), None);
}
