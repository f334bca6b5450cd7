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
    let shown = d.verify(&root, committed.leaf_count()).unwrap();
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
    assert_eq!(back.verify(&root, committed.leaf_count()).unwrap(), shown);

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
            matches!(
                d.verify(&root, committed.leaf_count()),
                Err(Error::FieldProof { .. })
            ),
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
    assert!(matches!(
        good.verify(&other, committed.leaf_count()),
        Err(Error::FieldProof { .. })
    ));
    assert!(matches!(
        good.verify(&PayloadRoot(Hash32::ZERO), committed.leaf_count()),
        Err(Error::ZeroRoot)
    ));

    // Structure: mixed sizes, unsorted, repeated, empty.
    let mut d = good.clone();
    d.fields[1].proof.size = LogSize(8);
    assert!(matches!(
        d.verify(&root, committed.leaf_count()),
        Err(Error::MalformedDisclosure { .. })
    ));
    let mut d = good.clone();
    d.fields.swap(0, 1);
    assert!(matches!(
        d.verify(&root, committed.leaf_count()),
        Err(Error::MalformedDisclosure { .. })
    ));
    let mut d = good.clone();
    d.fields[1] = d.fields[0].clone();
    assert!(matches!(
        d.verify(&root, committed.leaf_count()),
        Err(Error::MalformedDisclosure { .. })
    ));
    let empty = Disclosure { fields: vec![] };
    assert!(matches!(
        empty.verify(&root, committed.leaf_count()),
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
    assert_eq!(
        d.verify(&committed.root(), committed.leaf_count()).unwrap()["note"],
        Value::Null
    );
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
        // Integers JSON carries exactly (larger ones are refused, see below).
        (-(disclosure::MAX_EXACT_INTEGER as i64)..=disclosure::MAX_EXACT_INTEGER as i64)
            .prop_map(Value::from),
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
        let shown = d.verify(&c.root(), c.leaf_count()).unwrap();
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
        prop_assert!(bad.verify(&c.root(), c.leaf_count()).is_err());
    }
}

// ---- numbers and RFC 8785 (issue 12: the privacy crate's own findings) ----------------------

/// A file of RFC 8785's examples (see testdata/rfc8785/README.md).
fn rfc8785(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rfc8785")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// RFC 8785 §3.2.2–3.2.3: the published example and the property-sorting example canonicalise
/// to the published bytes.
#[test]
fn canonical_json_is_rfc8785_on_the_published_examples() {
    for name in ["example", "sorting"] {
        let input: Value = serde_json::from_str(&rfc8785(&format!("{name}.input.json"))).unwrap();
        let expected = rfc8785(&format!("{name}.expected.json"));
        assert_eq!(
            String::from_utf8(disclosure::canonical_json(&input).unwrap()).unwrap(),
            expected.trim_end(),
            "RFC 8785 {name} example"
        );
    }
}

/// RFC 8785 sorts members by UTF-16 code units: U+1F600 (a surrogate pair, 0xD83D…) sorts
/// before U+FF61, while UTF-8 byte order puts U+FF61 (0xEF…) first.
#[test]
fn canonical_json_sorts_members_by_utf16_code_units() {
    let v = json!({"\u{FF61}": 1, "\u{1F600}": 2});
    assert_eq!(
        String::from_utf8(disclosure::canonical_json(&v).unwrap()).unwrap(),
        "{\"\u{1F600}\":2,\"\u{FF61}\":1}"
    );
}

/// RFC 8785 Appendix B: IEEE 754 doubles and their canonical spelling.
#[test]
fn canonical_json_spells_numbers_as_rfc8785_appendix_b() {
    let table: [(u64, &str); 21] = [
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for (bits, expected) in table {
        let v = Value::from(f64::from_bits(bits));
        assert_eq!(
            String::from_utf8(disclosure::canonical_json(&v).unwrap()).unwrap(),
            expected,
            "{bits:016x}"
        );
    }
}

/// Two payloads differing only in a uint256-sized amount must never share a root: an integer
/// JSON (IEEE doubles) cannot carry exactly is refused, with the fix in the error.
#[test]
fn integers_beyond_what_json_carries_exactly_are_refused() {
    let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let less = "115792089237316195423570985008687907853269984665640564039457584007913129639934";
    for amount in [
        max,
        less,
        "9007199254740993",
        "18446744073709551615",
        "-9007199254740993",
    ] {
        let text = format!(r#"{{"amount": {amount}, "to": "Org B"}}"#);
        let err = CommittedPayload::commit_json(&text, Padding::None).unwrap_err();
        assert!(
            matches!(err, Error::InexactNumber { .. }),
            "{amount}: {err}"
        );
        assert!(err.to_string().contains("string"), "{err}");
    }
    // Parsed values: u64 and i64 beyond 2^53 are refused too.
    for v in [
        json!(9_007_199_254_740_993u64),
        json!(u64::MAX),
        json!(i64::MIN),
    ] {
        assert!(matches!(
            CommittedPayload::commit(&json!({ "amount": v }), Padding::None),
            Err(Error::InexactNumber { .. })
        ));
        assert!(matches!(
            disclosure::canonical_json(&v),
            Err(Error::InexactNumber { .. })
        ));
    }
    // A number spelled with more digits than a double holds would be committed as another
    // number: refused.
    assert!(matches!(
        CommittedPayload::commit_json(r#"{"x": 1.40000000000000001}"#, Padding::None),
        Err(Error::InexactNumber { .. })
    ));
    // The fix the error names works: string-encoded amounts commit, and differ.
    let a =
        CommittedPayload::commit_json(&format!(r#"{{"amount": "{max}"}}"#), Padding::None).unwrap();
    let b = CommittedPayload::commit_json(&format!(r#"{{"amount": "{less}"}}"#), Padding::None)
        .unwrap();
    let d = a.disclose(&["amount"]).unwrap();
    assert_eq!(
        d.verify(&a.root(), a.leaf_count()).unwrap()["amount"],
        json!(max)
    );
    assert!(d.verify(&b.root(), b.leaf_count()).is_err());
    // Exact numbers are accepted, however they are spelled.
    for text in [
        r#"{"x": 9007199254740991, "y": -9007199254740991, "z": 4.50, "w": 1E30, "v": 0.1}"#,
        r#"{"x": 1.5e3, "y": -0, "z": 2e-3}"#,
    ] {
        CommittedPayload::commit_json(text, Padding::None).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any finite double disclosed honestly verifies after the disclosure travelled as JSON
    /// text (serde_json must read back exactly the double it wrote).
    #[test]
    fn prop_disclosed_floats_verify_after_a_json_round_trip(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let c = CommittedPayload::commit(&json!({ "x": x, "y": 1 }), Padding::None).unwrap();
        let text = serde_json::to_string(&c.disclose(&["x"]).unwrap()).unwrap();
        let back: Disclosure = serde_json::from_str(&text).unwrap();
        prop_assert!(back.verify(&c.root(), c.leaf_count()).is_ok(), "{x:e} ({bits:016x}) as {text}");
    }
}

/// A payload that repeats a member name is refused: parsers disagree on which value counts
/// (serde_json keeps the last, others the first), so the commitment would be ambiguous.
#[test]
fn duplicate_member_names_are_refused() {
    for text in [
        r#"{"amount": "1", "amount": "1000"}"#,
        r#"{"a": {"x": 1, "x": 2}}"#,
        r#"{"a": [{"x": 1, "y": 2, "x": 3}]}"#,
    ] {
        let e = CommittedPayload::commit_json(text, Padding::None).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidJson { reason } if reason.contains("twice")),
            "{e}"
        );
    }
    CommittedPayload::commit_json(r#"{"a": {"x": 1}, "b": {"x": 1}}"#, Padding::None).unwrap();
}
