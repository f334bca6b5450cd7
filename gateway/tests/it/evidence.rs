//! Equivocation evidence end to end through the binary: a store that recorded a validator
//! signing two roots for one log size, `causeway store evidence` exporting it, and `causeway
//! verify --evidence` accepting it; tampered evidence, evidence that proves nothing and evidence
//! for another lane than the trust file's, or of an epoch later than its, are rejected (exit 1);
//! evidence signed under an earlier validator epoch still verifies against a later trust file.

use causeway_proofs::{
    Checkpoint, Domain, Hash32, HashAlgorithm, LogSize, SigningDomain, ValidatorKey,
};
use causeway_relayer::store::{
    CheckpointStore, Lane, MemberSignatureOutcome, MemberSignatureRecord, SqliteStore, UnixMillis,
    ValidatorSignature,
};

use crate::store::store_with_events;
use crate::support::{causeway, text};

fn domain() -> SigningDomain {
    SigningDomain {
        origin: Domain(1),
        origin_chain_id: 31337,
        destination: Domain(2),
        destination_chain_id: 31338,
        inbox: SigningDomain::named_inbox("evidence-test"),
        validator_epoch: 1,
    }
}

fn record(store: &SqliteStore, key: &ValidatorKey, root: u8, own: bool) -> MemberSignatureOutcome {
    let checkpoint = Checkpoint::new(
        Domain(1),
        HashAlgorithm::Sha256,
        LogSize(2),
        Hash32([root; 32]),
    )
    .unwrap();
    store
        .record_member_signature(&MemberSignatureRecord {
            lane: Lane {
                origin: Domain(1),
                destination: Domain(2),
            },
            domain: domain(),
            checkpoint,
            signature: ValidatorSignature {
                validator: key.address(),
                signature: key.sign_checkpoint(&checkpoint, &domain()),
            },
            matches_own_root: own,
            now: UnixMillis(5),
        })
        .unwrap()
}

fn trust_file(
    dir: &std::path::Path,
    domain: &SigningDomain,
    validators: &[&ValidatorKey],
) -> std::path::PathBuf {
    let path = dir.join("trust.json");
    let json = serde_json::json!({
        "signing_domain": {
            "origin": domain.origin.0,
            "origin_chain_id": domain.origin_chain_id,
            "destination": domain.destination.0,
            "destination_chain_id": domain.destination_chain_id,
            "inbox": format!("0x{}", hex::encode(domain.inbox.0)),
            "validator_epoch": domain.validator_epoch,
        },
        "validators": validators.iter().map(|k| k.address().to_hex()).collect::<Vec<_>>(),
        "threshold": validators.len() / 2 + 1,
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

#[test]
fn exported_evidence_verifies_offline_and_tampered_evidence_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gateway.sqlite");
    store_with_events(&db);
    let faulty = ValidatorKey::from_bytes(&[7; 32]).unwrap();
    let honest = ValidatorKey::from_bytes(&[8; 32]).unwrap();
    {
        let store = SqliteStore::open(&db).unwrap();
        assert!(matches!(
            record(&store, &faulty, 1, true),
            MemberSignatureOutcome::Counted { .. }
        ));
        assert!(matches!(
            record(&store, &faulty, 2, false),
            MemberSignatureOutcome::Equivocation(_)
        ));
    }
    let out = dir.path().join("evidence");
    let args = [
        "store",
        "evidence",
        "--db",
        db.to_str().unwrap(),
        "--origin",
        "1",
        "--destination",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = causeway(&args);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let file = out.join(format!("equivocation-{}.json", faulty.address()));
    assert!(file.is_file(), "{}", text(&run));
    // Never overwritten.
    let again = causeway(&args);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));

    let verify = causeway(&["verify", "--evidence", file.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(
        stdout.contains("VALID EVIDENCE") && stdout.contains(&faulty.address().to_string()),
        "{stdout}"
    );
    // With the lane's trust file naming the validator: still valid.
    let trust = trust_file(dir.path(), &domain(), &[&faulty, &honest]);
    let verify = causeway(&[
        "verify",
        "--evidence",
        file.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));

    let json = std::fs::read_to_string(&file).unwrap();
    let bad = |name: &str, content: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let evidence: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The second root changed: its signature no longer recovers to the validator.
    let mut tampered = evidence.clone();
    tampered["second"]["checkpoint"]["root"] = serde_json::json!(format!("0x{}", "33".repeat(32)));
    // Both halves the same signed root: proves nothing.
    let mut same = evidence.clone();
    same["second"] = same["first"].clone();
    // Accusing the honest validator.
    let mut framed = evidence.clone();
    framed["validator"] = serde_json::json!(honest.address().to_hex());
    for (name, value) in [("tampered", tampered), ("same", same), ("framed", framed)] {
        let path = bad(&format!("{name}.json"), value.to_string());
        let verify = causeway(&["verify", "--evidence", path.to_str().unwrap()]);
        assert_eq!(verify.status.code(), Some(1), "{name}: {}", text(&verify));
        assert!(
            String::from_utf8_lossy(&verify.stdout).contains("INVALID EVIDENCE"),
            "{name}"
        );
    }
    // Valid evidence, but for another lane than the trust file's.
    let mut other = domain();
    other.origin = causeway_proofs::Domain(other.origin.0 + 7);
    let other_trust = dir.path().join("other");
    std::fs::create_dir(&other_trust).unwrap();
    let trust = trust_file(&other_trust, &other, &[&faulty, &honest]);
    let verify = causeway(&[
        "verify",
        "--evidence",
        file.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("for another lane"),
        "{}",
        text(&verify)
    );

    // The lane's validator set changed since (epoch 2, without the faulty validator): the
    // evidence signed under epoch 1 still verifies against the new trust file, saying so.
    let mut later = domain();
    later.validator_epoch = 2;
    let later_trust = dir.path().join("later");
    std::fs::create_dir(&later_trust).unwrap();
    let trust = trust_file(&later_trust, &later, &[&honest]);
    let verify = causeway(&[
        "verify",
        "--evidence",
        file.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stdout)
            .contains("signed under epoch 1, before the trust file's epoch 2"),
        "{}",
        text(&verify)
    );

    // Evidence of an epoch later than the trust file's is not checked against it.
    let mut earlier = domain();
    earlier.validator_epoch = 0;
    let earlier_trust = dir.path().join("earlier");
    std::fs::create_dir(&earlier_trust).unwrap();
    let trust = trust_file(&earlier_trust, &earlier, &[&faulty, &honest]);
    let verify = causeway(&[
        "verify",
        "--evidence",
        file.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("later than the trust file's epoch 0"),
        "{}",
        text(&verify)
    );
}
