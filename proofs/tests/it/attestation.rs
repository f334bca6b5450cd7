//! Threshold attestations: m-of-n over distinct validators and every rejection rule of
//! notes/wire.md, following security/bridge-exploits.md T01, T07, T09–T13, T16.

#![allow(clippy::unwrap_used)]

use causeway_proofs::attestation::{order_signatures, recover};
use causeway_proofs::{
    Address32, Checkpoint, Domain, Error, EvmAddress, Hash32, HashAlgorithm, LogSize, Signature,
    SigningDomain, ValidatorKey, ValidatorSet, verify_attestations,
};
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::ops::Reduce;

/// Deterministic test keys, sorted by address (the order signatures must come in).
pub(crate) fn keys(n: u8, seed: u8) -> Vec<ValidatorKey> {
    let mut keys: Vec<ValidatorKey> = (0..n)
        .map(|i| ValidatorKey::from_bytes(&[seed.wrapping_add(i).max(1); 32]).unwrap())
        .collect();
    keys.sort_by_key(ValidatorKey::address);
    keys
}

pub(crate) fn set_of(keys: &[ValidatorKey], threshold: usize) -> ValidatorSet {
    ValidatorSet::new(keys.iter().map(ValidatorKey::address).collect(), threshold).unwrap()
}

pub(crate) fn lane() -> SigningDomain {
    SigningDomain {
        origin: Domain(1),
        origin_chain_id: 31337,
        destination: Domain(2),
        destination_chain_id: 31338,
        inbox: SigningDomain::evm_inbox(EvmAddress([0x5f; 20])),
        validator_epoch: 1,
    }
}

/// T01's checkpoint: a root that would include a fabricated leaf.
fn checkpoint() -> Checkpoint {
    Checkpoint::new(
        Domain(1),
        HashAlgorithm::Sha256,
        LogSize(1000),
        Hash32([0xf0; 32]),
    )
    .unwrap()
}

fn sign_all(keys: &[ValidatorKey], cp: &Checkpoint, d: &SigningDomain) -> Vec<Signature> {
    keys.iter().map(|k| k.sign_checkpoint(cp, d)).collect()
}

#[test]
fn three_of_five_happy_path() {
    let ks = keys(5, 1);
    let set = set_of(&ks, 3);
    let digest = checkpoint().signing_digest(&lane());
    // Any 3 of the 5, in ascending signer order.
    for skip in [[0, 1], [1, 3], [2, 4]] {
        let sigs: Vec<Signature> = ks
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, k)| k.sign(&digest))
            .collect();
        let q = verify_attestations(&set, &digest, &sigs).unwrap();
        assert_eq!(q.count(), 3);
        assert_eq!(q.threshold(), 3);
        assert!(q.signers().windows(2).all(|w| w[0] < w[1]));
    }
    let all = sign_all(&ks, &checkpoint(), &lane());
    let q = verify_attestations(&set, &digest, &all).unwrap();
    assert_eq!(q.signers(), set.members());
}

#[test]
fn order_signatures_sorts_and_dedups_by_signer() {
    let ks = keys(5, 1);
    let set = set_of(&ks, 5);
    let digest = checkpoint().signing_digest(&lane());
    let mut sigs = sign_all(&ks, &checkpoint(), &lane());
    sigs.reverse();
    sigs.push(sigs[0]);
    assert!(verify_attestations(&set, &digest, &sigs).is_err());
    let ordered = order_signatures(&digest, &sigs).unwrap();
    assert_eq!(ordered.len(), 5);
    assert_eq!(
        verify_attestations(&set, &digest, &ordered)
            .unwrap()
            .count(),
        5
    );
}

/// T01: n = 7, m = 5, the attacker holds 4 member keys.
#[test]
fn t01_threshold_minus_one_and_every_fifth_signature_trick() {
    let ks = keys(7, 1);
    let set = set_of(&ks, 5);
    let cp = checkpoint();
    let digest = cp.signing_digest(&lane());
    let four = sign_all(&ks[..4], &cp, &lane());
    assert_eq!(
        verify_attestations(&set, &digest, &four),
        Err(Error::BelowThreshold {
            valid: 4,
            threshold: 5
        })
    );

    // (a) a 5th signature from a non-member key.
    let outsider = ValidatorKey::from_bytes(&[0x77; 32]).unwrap();
    assert!(!set.contains(&outsider.address()));
    let mut with_outsider = four.clone();
    with_outsider.push(outsider.sign(&digest));
    assert_eq!(
        verify_attestations(&set, &digest, &with_outsider),
        Err(Error::UnknownValidator {
            position: 4,
            address: outsider.address().to_hex()
        })
    );

    // (b) a 5th signature reusing member #4's (adjacent) or member #1's (far) signature.
    for reused in [3, 0] {
        let mut dup = four.clone();
        dup.push(four[reused]);
        assert_eq!(
            verify_attestations(&set, &digest, &dup),
            Err(Error::DuplicateSigner {
                position: 4,
                address: ks[reused].address().to_hex()
            }),
            "reusing signature {reused}"
        );
    }

    // (c) a 5th "signature" of 65 zero bytes.
    let mut zeros = four.clone();
    zeros.push(Signature([0; 65]));
    assert!(matches!(
        verify_attestations(&set, &digest, &zeros),
        Err(Error::MalformedSignature { position: 4, .. })
    ));
}

/// T09: m correct signatures over the correct digest from fresh, non-member keys.
#[test]
fn t09_non_member_signatures_never_count() {
    let members = keys(5, 1);
    let set = set_of(&members, 3);
    let strangers = keys(3, 100);
    let digest = checkpoint().signing_digest(&lane());
    let sigs = sign_all(&strangers, &checkpoint(), &lane());
    assert!(matches!(
        verify_attestations(&set, &digest, &sigs),
        Err(Error::UnknownValidator { position: 0, .. })
    ));
}

/// T10 (b): the same member signing twice with two different nonces (two valid, different,
/// low-s signatures) still counts once.
#[test]
fn t10_same_signer_with_a_different_nonce_is_duplicate() {
    use k256::ecdsa::hazmat::SignPrimitive;

    let secret = [9u8; 32];
    let key = ValidatorKey::from_bytes(&secret).unwrap();
    let other = keys(3, 1);
    let set = ValidatorSet::new(
        other
            .iter()
            .map(ValidatorKey::address)
            .chain([key.address()])
            .collect(),
        2,
    )
    .unwrap();
    let digest = checkpoint().signing_digest(&lane());
    let first = key.sign(&digest);

    // A second signature by the same key with a nonce other than RFC 6979's.
    let d = k256::Scalar::from_repr(secret.into()).unwrap();
    let k = k256::Scalar::from(0x1234_5678u64);
    let (sig, recid) = d.try_sign_prehashed(k, &digest.0.into()).unwrap();
    let recid = recid.unwrap();
    let mut raw = [0u8; 65];
    raw[..64].copy_from_slice(&sig.to_bytes());
    raw[64] = 27 + u8::from(recid.is_y_odd());
    let second = Signature(raw);
    assert_ne!(first, second);
    assert_eq!(recover(&digest, &second, 0), Ok(key.address()));

    assert!(matches!(
        verify_attestations(&set, &digest, &[first, second]),
        Err(Error::DuplicateSigner { position: 1, .. })
    ));
}

/// T10 (c): signers out of order.
#[test]
fn unsorted_signers_are_rejected() {
    let ks = keys(5, 1);
    let set = set_of(&ks, 3);
    let digest = checkpoint().signing_digest(&lane());
    let sigs = vec![
        ks[1].sign(&digest),
        ks[0].sign(&digest),
        ks[2].sign(&digest),
    ];
    assert_eq!(
        verify_attestations(&set, &digest, &sigs),
        Err(Error::SignersNotAscending { position: 1 })
    );
}

/// n − s as 32 big-endian bytes.
fn negate(s: [u8; 32]) -> [u8; 32] {
    let s = <k256::Scalar as Reduce<k256::U256>>::reduce_bytes(&s.into());
    (-s).to_repr().into()
}

/// T11: the malleated twin (r, n − s, v ⊕ parity) and every malformed encoding.
#[test]
fn t11_high_s_and_malformed_encodings() {
    let ks = keys(3, 1);
    let set = set_of(&ks, 2);
    let digest = checkpoint().signing_digest(&lane());
    let good = sign_all(&ks[..2], &checkpoint(), &lane());
    verify_attestations(&set, &digest, &good).unwrap();

    let mut twin = good[1].0;
    twin[32..64].copy_from_slice(&negate(good[1].s()));
    twin[64] = if twin[64] == 27 { 28 } else { 27 };
    assert_eq!(
        verify_attestations(&set, &digest, &[good[0], Signature(twin)]),
        Err(Error::HighS { position: 1 })
    );

    const N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    let n: [u8; 32] = hex::decode(N).unwrap().try_into().unwrap();
    type Mutation = Box<dyn Fn(&mut [u8; 65])>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("r = 0", Box::new(|s| s[..32].fill(0))),
        ("s = 0", Box::new(|s| s[32..64].fill(0))),
        ("r = n", Box::new(move |s| s[..32].copy_from_slice(&n))),
        ("s = n", Box::new(move |s| s[32..64].copy_from_slice(&n))),
        ("r = 2^256 - 1", Box::new(|s| s[..32].fill(0xff))),
        ("v = 0", Box::new(|s| s[64] = 0)),
        ("v = 1", Box::new(|s| s[64] = 1)),
        ("v = 29", Box::new(|s| s[64] = 29)),
    ];
    for (what, mutate) in mutations {
        let mut raw = good[1].0;
        mutate(&mut raw);
        assert!(
            matches!(
                verify_attestations(&set, &digest, &[good[0], Signature(raw)]),
                Err(Error::MalformedSignature { position: 1, .. })
            ),
            "{what}"
        );
    }
}

/// T13: a signature made for another lane, chain, Inbox or epoch recovers to an unknown signer.
#[test]
fn t13_signature_for_another_domain_never_verifies() {
    let ks = keys(3, 1);
    let set = set_of(&ks, 2);
    let cp = checkpoint();
    let digest = cp.signing_digest(&lane());
    let variants: Vec<(&str, SigningDomain)> = vec![
        (
            "destination chain id",
            SigningDomain {
                destination_chain_id: 31339,
                ..lane()
            },
        ),
        (
            "inbox",
            SigningDomain {
                inbox: Address32([0x42; 32]),
                ..lane()
            },
        ),
        (
            "epoch",
            SigningDomain {
                validator_epoch: 2,
                ..lane()
            },
        ),
        (
            "origin",
            SigningDomain {
                origin: Domain(3),
                ..lane()
            },
        ),
        (
            "origin chain id",
            SigningDomain {
                origin_chain_id: 1,
                ..lane()
            },
        ),
        (
            "destination",
            SigningDomain {
                destination: Domain(4),
                ..lane()
            },
        ),
    ];
    for (what, other) in variants {
        let sigs = sign_all(&ks[..2], &cp, &other);
        assert!(
            matches!(
                verify_attestations(&set, &digest, &sigs),
                Err(Error::UnknownValidator { position: 0, .. })
            ),
            "{what}"
        );
    }
}

/// T07 / T16: zero roots and empty signature lists.
#[test]
fn zero_root_and_no_signatures() {
    assert_eq!(
        Checkpoint::new(
            Domain(1),
            HashAlgorithm::Keccak256,
            LogSize(1),
            Hash32::ZERO
        ),
        Err(Error::ZeroRoot)
    );
    let ks = keys(3, 1);
    let set = set_of(&ks, 1);
    assert_eq!(
        verify_attestations(&set, &Hash32([1; 32]), &[]),
        Err(Error::BelowThreshold {
            valid: 0,
            threshold: 1
        })
    );
}

/// T07 / T10 (d) / T12: validator sets that cannot protect anything.
#[test]
fn invalid_validator_sets_are_rejected() {
    let a = EvmAddress([1; 20]);
    let b = EvmAddress([2; 20]);
    let invalid =
        |r: Result<ValidatorSet, Error>| matches!(r, Err(Error::InvalidValidatorSet { .. }));
    assert!(invalid(ValidatorSet::new(vec![], 1)), "empty");
    assert!(
        invalid(ValidatorSet::new(vec![a, EvmAddress::default()], 1)),
        "zero address"
    );
    assert!(invalid(ValidatorSet::new(vec![a, b, a], 2)), "duplicate");
    assert!(invalid(ValidatorSet::new(vec![a, b], 0)), "threshold 0");
    assert!(invalid(ValidatorSet::new(vec![a, b], 3)), "threshold > n");

    let set = ValidatorSet::new(vec![b, a], 2).unwrap();
    assert_eq!(set.members(), &[a, b], "stored sorted");
    assert_eq!((set.len(), set.threshold(), set.is_empty()), (2, 2, false));

    let json = serde_json::to_value(&set).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"validators": [a.to_hex(), b.to_hex()], "threshold": 2})
    );
    assert_eq!(serde_json::from_value::<ValidatorSet>(json).unwrap(), set);
    let zero_threshold = serde_json::json!({"validators": [a.to_hex()], "threshold": 0});
    assert!(serde_json::from_value::<ValidatorSet>(zero_threshold).is_err());
}

#[test]
fn validator_key_debug_is_redacted() {
    let secret = [0x5a; 32];
    let key = ValidatorKey::from_bytes(&secret).unwrap();
    let dbg = format!("{key:?}");
    assert_eq!(dbg, format!("ValidatorKey(<redacted> {})", key.address()));
    assert!(!dbg.contains("5a5a"), "{dbg}");
    assert_eq!(*key.secret_bytes(), secret);
}

#[test]
fn validator_keys_from_bytes_and_generated() {
    assert!(ValidatorKey::from_bytes(&[0; 32]).is_err(), "zero");
    let n: [u8; 32] =
        hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap()
            .try_into()
            .unwrap();
    assert!(ValidatorKey::from_bytes(&n).is_err(), "curve order");

    let a = ValidatorKey::generate(&mut rand_core::OsRng);
    let b = ValidatorKey::generate(&mut rand_core::OsRng);
    assert_ne!(a.address(), b.address());
    let digest = Hash32([9; 32]);
    assert_eq!(recover(&digest, &a.sign(&digest), 0), Ok(a.address()));
    // Deterministic (RFC 6979): the same digest gives the same signature.
    assert_eq!(a.sign(&digest), a.sign(&digest));
}
