//! Selective disclosure: commit to a JSON object's fields, disclose some, check them.

use causeway_privacy::Error;
use causeway_privacy::disclosure::{
    self, CommitmentOpening, CommittedPayload, Disclosure, FieldSalt, Padding, PayloadRoot,
};
use causeway_proofs::{Hash32, LeafIndex, LogSize};
use proptest::prelude::*;
use serde_json::{Value, json};

fn invoice() -> Value {
    json!({
        "invoice": "INV-2024-0042",
        "buyer": "Org B",
        "seller": "Org A",
        "amount": {"value": 1250, "currency": "EUR"},
        "items": [{"sku": "X1", "qty": 3}, {"sku": "Y2", "qty": 1}],
        "paid": false,
        "note": null
    })
}

/// Known answer, computed independently with Python's hashlib:
/// sha256(lp("causeway/disclosure-leaf/v1") ‖ lp(salt 00..1f) ‖ lp("amount") ‖
/// lp('{"currency":"EUR","value":1250}')), lp = u64 big-endian length prefix.
#[test]
fn leaf_encoding_known_answer() {
    let salt = FieldSalt::from_bytes(core::array::from_fn(|i| i as u8));
    let value = json!({"value": 1250, "currency": "EUR"});
    assert_eq!(
        disclosure::canonical_json(&value).unwrap(),
        br#"{"currency":"EUR","value":1250}"#
    );
    let leaf = disclosure::leaf_data(&salt, "amount", &value).unwrap();
    assert_eq!(
        leaf.to_hex(),
        "0x77ee0f2eb3ff74b493d0be9f0fffee54a80c05913fd66227d2229c400c33442f"
    );
    // A one-field payload's root is the RFC 9162 leaf hash SHA-256(0x00 ‖ leaf) (same source).
    let opening = CommitmentOpening {
        salts: [("amount".to_owned(), salt)].into_iter().collect(),
        padding: vec![],
    };
    let c = CommittedPayload::from_opening(&json!({"amount": value}), &opening).unwrap();
    assert_eq!(
        c.root().0.to_hex(),
        "0xe1360a36fa974404158549a3fc9d68bde9e366c256d467c7ff4a18954adb8a97"
    );
}

#[test]
fn canonical_json_sorts_recursively_and_strips_whitespace() {
    let a: Value =
        serde_json::from_str(r#"{ "b": [1, {"z": true, "a": "é\n"}], "a": 1.5 }"#).unwrap();
    assert_eq!(
        String::from_utf8(disclosure::canonical_json(&a).unwrap()).unwrap(),
        r#"{"a":1.5,"b":[1,{"a":"é\n","z":true}]}"#
    );
    // Byte order, not locale order: "Z" (0x5a) sorts before "a" (0x61).
    let b = json!({"a": 1, "Z": 2});
    assert_eq!(disclosure::canonical_json(&b).unwrap(), br#"{"Z":2,"a":1}"#);
    // Nesting beyond the limit is refused.
    let mut deep = json!(0);
    for _ in 0..=disclosure::MAX_DEPTH {
        deep = json!([deep]);
    }
    assert!(matches!(
        disclosure::canonical_json(&deep),
        Err(Error::TooDeep { .. })
    ));
}

#[test]
fn disclose_and_verify() {
    let committed = CommittedPayload::commit(&invoice(), Padding::None).unwrap();
    assert_eq!(committed.leaf_count(), 7);
    let root = committed.root();
    let d = committed.disclose(&["seller", "amount", "amount"]).unwrap();
    let shown = d.verify(&root).unwrap();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown["amount"], json!({"value": 1250, "currency": "EUR"}));
    assert_eq!(shown["seller"], json!("Org A"));
    // Leaf order is name order: amount(0) buyer(1) invoice(2) items(3) note(4) paid(5) seller(6).
    assert_eq!(d.fields[0].proof.index, LeafIndex(0));
    assert_eq!(d.fields[1].proof.index, LeafIndex(6));
    assert_eq!(d.fields[1].proof.size, LogSize(7));

    // The JSON form carries no undisclosed value and verifies after a round trip.
    let text = serde_json::to_string(&d).unwrap();
    for hidden in ["INV-2024-0042", "Org B", "X1", "buyer", "invoice"] {
        assert!(!text.contains(hidden), "{hidden} leaked");
    }
    let back: Disclosure = serde_json::from_str(&text).unwrap();
    assert_eq!(back.verify(&root).unwrap(), shown);

    // Same payload, fresh salts: a different root.
    let again = CommittedPayload::commit(&invoice(), Padding::None).unwrap();
    assert_ne!(again.root(), root);
}

#[test]
fn wrong_value_salt_name_or_proof_fails() {
    let committed = CommittedPayload::commit(&invoice(), Padding::None).unwrap();
    let root = committed.root();
    let good = committed.disclose(&["amount", "paid"]).unwrap();
    let expect_proof_err = |d: &Disclosure, what: &str| {
        assert!(
            matches!(d.verify(&root), Err(Error::FieldProof { .. })),
            "{what}"
        );
    };

    let mut d = good.clone();
    d.fields[1].value = json!(true);
    expect_proof_err(&d, "value");
    let mut d = good.clone();
    d.fields[0].value = json!({"value": 1250, "currency": "USD"});
    expect_proof_err(&d, "nested value");
    let mut d = good.clone();
    let mut salt = *d.fields[0].salt.as_bytes();
    salt[31] ^= 1;
    d.fields[0].salt = FieldSalt::from_bytes(salt);
    expect_proof_err(&d, "salt");
    let mut d = good.clone();
    d.fields[0].name = "amounts".into();
    expect_proof_err(&d, "name");
    let mut d = good.clone();
    d.fields[0].proof.path[0].0[0] ^= 1;
    expect_proof_err(&d, "path");
    let mut d = good.clone();
    d.fields[0].proof.index = LeafIndex(1);
    expect_proof_err(&d, "index");
    let mut d = good.clone();
    d.fields[0].proof.path.pop();
    expect_proof_err(&d, "short path");

    // Another root, the zero root.
    let other = CommittedPayload::commit(&invoice(), Padding::None)
        .unwrap()
        .root();
    assert!(matches!(good.verify(&other), Err(Error::FieldProof { .. })));
    assert!(matches!(
        good.verify(&PayloadRoot(Hash32::ZERO)),
        Err(Error::ZeroRoot)
    ));

    // Structure: mixed sizes, unsorted, repeated, empty.
    let mut d = good.clone();
    d.fields[1].proof.size = LogSize(8);
    assert!(matches!(
        d.verify(&root),
        Err(Error::MalformedDisclosure { .. })
    ));
    let mut d = good.clone();
    d.fields.swap(0, 1);
    assert!(matches!(
        d.verify(&root),
        Err(Error::MalformedDisclosure { .. })
    ));
    let mut d = good.clone();
    d.fields[1] = d.fields[0].clone();
    assert!(matches!(
        d.verify(&root),
        Err(Error::MalformedDisclosure { .. })
    ));
    let empty = Disclosure { fields: vec![] };
    assert!(matches!(
        empty.verify(&root),
        Err(Error::MalformedDisclosure { .. })
    ));
}

#[test]
fn opening_rebuilds_the_same_commitment() {
    let committed = CommittedPayload::commit(&invoice(), Padding::PowerOfTwo).unwrap();
    assert_eq!(committed.leaf_count(), 8);
    let opening = committed.opening();
    let stored = serde_json::to_string(&opening).unwrap();
    let restored: CommitmentOpening = serde_json::from_str(&stored).unwrap();
    let again = CommittedPayload::from_opening(&invoice(), &restored).unwrap();
    assert_eq!(again.root(), committed.root());
    let d = again.disclose(&["note"]).unwrap();
    assert_eq!(d.verify(&committed.root()).unwrap()["note"], Value::Null);
    assert_eq!(
        d.fields[0].proof.size,
        LogSize(8),
        "padded size is what leaks"
    );
    // The opening does not fit another payload.
    let mut other = invoice();
    other.as_object_mut().unwrap().remove("note");
    assert!(matches!(
        CommittedPayload::from_opening(&other, &restored),
        Err(Error::OpeningMismatch { .. })
    ));
    // Debug output of secrets is redacted.
    assert!(!format!("{opening:?}").contains(&hex::encode(restored.salts["note"].as_bytes())));
}

#[test]
fn inputs_are_checked() {
    for v in [
        json!([1]),
        json!("s"),
        json!(1),
        json!(null),
        json!(true),
        json!({}),
    ] {
        assert!(matches!(
            CommittedPayload::commit(&v, Padding::None),
            Err(Error::NotAnObject { .. })
        ));
    }
    let c = CommittedPayload::commit(&invoice(), Padding::None).unwrap();
    assert!(matches!(c.disclose(&["nope"]), Err(Error::UnknownField { name }) if name == "nope"));
}

fn arb_object() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[a-zA-Z0-9 éü\"\\\\]{0,12}".prop_map(Value::from),
        Just(Value::Null),
    ];
    prop::collection::btree_map("[a-z_]{1,8}", scalar, 1..20).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any subset discloses and verifies; any bit flip in a disclosed salt or proof node fails.
    #[test]
    fn prop_any_subset_verifies(
        obj in arb_object(),
        pick in any::<u32>(),
        pad in any::<bool>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let payload = Value::Object(obj.clone());
        let padding = if pad { Padding::PowerOfTwo } else { Padding::None };
        let c = CommittedPayload::commit(&payload, padding).unwrap();
        let names: Vec<&String> = obj.keys().enumerate()
            .filter(|(i, _)| pick & (1 << (i % 32)) != 0)
            .map(|(_, n)| n)
            .collect();
        prop_assume!(!names.is_empty());
        let d = c.disclose(&names).unwrap();
        let shown = d.verify(&c.root()).unwrap();
        prop_assert_eq!(shown.len(), names.len());
        for n in &names {
            prop_assert_eq!(&shown[n.as_str()], &obj[n.as_str()]);
        }

        // One bit of the first field's salt or proof path.
        let mut bad = d.clone();
        let f = &mut bad.fields[0];
        let bits = 256 + 256 * f.proof.path.len();
        let bit = flip.index(bits);
        if bit < 256 {
            let mut s = *f.salt.as_bytes();
            s[bit / 8] ^= 1 << (bit % 8);
            f.salt = FieldSalt::from_bytes(s);
        } else {
            let b = bit - 256;
            f.proof.path[b / 256].0[(b % 256) / 8] ^= 1 << (b % 8);
        }
        prop_assert!(bad.verify(&c.root()).is_err());
    }
}
