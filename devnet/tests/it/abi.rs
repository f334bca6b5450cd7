//! The committed artifacts expose exactly the interface issue 3 fixes (plus the documented
//! additions), nothing payable, and load through the artifact reader.

use std::collections::BTreeSet;

use alloy::json_abi::StateMutability;
use causeway_devnet::Error;
use causeway_devnet::contracts::{Artifact, artifacts_dir};

/// Every function and event signature of `name`'s ABI, and checks that nothing is payable.
fn signatures(name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let artifact = Artifact::load(name).unwrap();
    assert_eq!(artifact.contract_name, name);
    assert!(
        artifact.abi.fallback.is_none() && artifact.abi.receive.is_none(),
        "{name}"
    );
    if let Some(c) = &artifact.abi.constructor {
        assert_ne!(
            c.state_mutability,
            StateMutability::Payable,
            "{name} constructor"
        );
    }
    let mut functions = BTreeSet::new();
    for f in artifact.abi.functions() {
        assert_ne!(
            f.state_mutability,
            StateMutability::Payable,
            "{name}.{}",
            f.name
        );
        functions.insert(f.signature());
    }
    let events = artifact.abi.events().map(|e| e.signature()).collect();
    (functions, events)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_artifacts_expose_the_fixed_interface() {
    let cp = "(uint32,uint8,uint64,bytes32)";
    let registry = [
        "setValidators(uint32,uint64,address[],uint8)".to_owned(),
        "validatorSet(uint32)".to_owned(),
        format!("checkpointDigest({cp})"),
        "admin()".to_owned(),
        "CHECKPOINT_TYPEHASH()".to_owned(),
        "CHECKPOINT_VERSION()".to_owned(),
        "DOMAIN_TYPEHASH()".to_owned(),
        "MAX_VALIDATORS()".to_owned(),
        "SHA256()".to_owned(),
        // Issue 9 item 5: Keccak-256 lanes (the Inbox verifies them, the Anchor does not).
        "KECCAK256()".to_owned(),
        // Governance (issue 9): threshold-signed, delayed, cancellable set changes.
        "proposeValidatorSet(uint32,uint64,address[],uint8,uint64,bytes[])".to_owned(),
        "cancelValidatorSetChange(uint32,bytes[])".to_owned(),
        "applyValidatorSetChange(uint32)".to_owned(),
        "pendingValidatorSet(uint32)".to_owned(),
        "nextEpoch(uint32)".to_owned(),
        "validatorSetChangeDigest(uint32,uint64,address[],uint8,uint64)".to_owned(),
        "cancelDigest(uint32)".to_owned(),
        "changeDelay()".to_owned(),
        "GOVERNANCE_DOMAIN_TYPEHASH()".to_owned(),
        "VALIDATOR_SET_CHANGE_TYPEHASH()".to_owned(),
        "CANCEL_CHANGE_TYPEHASH()".to_owned(),
    ];
    let registry_events = [
        "ValidatorSetChanged(uint32,uint64,address[],uint8)",
        "ValidatorSetChangeProposed(uint32,uint64,uint64,address[],uint8,uint64)",
        "ValidatorSetChangeCancelled(uint32,uint64)",
        "ValidatorSetChangeApplied(uint32,uint64)",
    ];
    let (f, e) = signatures("Outbox");
    assert_eq!(
        f,
        set(&[
            "dispatch(uint32,bytes32,bytes)",
            // Issue 15: a dispatch that names the nonce it was sealed for.
            "dispatchAt(uint64,uint32,bytes32,bytes)",
            "nonce()",
            "localDomain()"
        ])
    );
    assert_eq!(e, set(&["Dispatch(bytes32,uint64,uint32,bytes)"]));

    let (f, e) = signatures("Inbox");
    let mut expected: BTreeSet<String> = registry.iter().cloned().collect();
    expected.extend([
        format!("deliver(bytes,(uint64,bytes32[]),{cp},bytes[])"),
        format!("deliverBatch(bytes[],(uint64,bytes32[])[],{cp},bytes[])"),
        // Issue 9 item 5: the same batch in a packed layout (cheaper calldata).
        format!("deliverPacked({cp},bytes,bytes)"),
        "retry(bytes)".to_owned(),
        "status(bytes32)".to_owned(),
        // Issue 11: a batch's replay records in one call.
        "statuses(bytes32[])".to_owned(),
        "pause(uint32)".to_owned(),
        "unpause(uint32,bytes[])".to_owned(),
        "unpauseDigest(uint32)".to_owned(),
        "UNPAUSE_TYPEHASH()".to_owned(),
        "paused(uint32)".to_owned(),
        "setRateLimit(uint32,uint32,uint32)".to_owned(),
        "rateLimit(uint32)".to_owned(),
        "acceptedRoot(uint32,uint8,uint64)".to_owned(),
        "setForbiddenRecipient(address,bool)".to_owned(),
        "isForbiddenRecipient(address)".to_owned(),
        "verifyInclusion(bytes32,uint64,uint64,bytes32[],bytes32)".to_owned(),
        "localDomain()".to_owned(),
        "HANDLE_GAS()".to_owned(),
        "MAX_REASON_LEN()".to_owned(),
        "STATUS_NONE()".to_owned(),
        "STATUS_DELIVERED()".to_owned(),
        "STATUS_FAILED()".to_owned(),
        "STATUS_REFUSED()".to_owned(),
    ]);
    assert_eq!(f, expected);
    let mut expected = set(&registry_events);
    expected.extend(set(&[
        "Delivered(bytes32,uint32,uint64)",
        "DeliveryFailed(bytes32,uint32,uint64,bytes)",
        "PauseChanged(uint32,bool)",
        "ForbiddenRecipientChanged(address,bool)",
        "RateLimited(bytes32,uint32,uint64)",
        "AlreadyDeliveredSkipped(bytes32,uint8)",
        "DeliveryRefused(bytes32,uint32,uint64,bytes32)",
        "RateLimitChanged(uint32,uint32,uint32)",
    ]));
    assert_eq!(e, expected);

    let (f, e) = signatures("Anchor");
    let mut expected: BTreeSet<String> = registry.iter().cloned().collect();
    expected.extend([
        format!("anchor({cp},bytes[],bytes32[])"),
        "latest(uint32)".to_owned(),
        "verifyConsistency(uint64,uint64,bytes32,bytes32,bytes32[])".to_owned(),
    ]);
    assert_eq!(f, expected);
    let mut expected = set(&registry_events);
    expected.insert("Anchored(uint32,uint64,bytes32)".to_owned());
    assert_eq!(e, expected);

    // The custom errors of the fixed list, with their exact argument types.
    let inbox = Artifact::load("Inbox").unwrap();
    let errors: BTreeSet<String> = inbox.abi.errors().map(|e| e.signature()).collect();
    for expected in [
        "ZeroRoot()",
        "WrongDomain(uint32,uint32)",
        "WrongDestination(uint32,uint32)",
        "UnknownValidator(address)",
        "DuplicateSigner(address)",
        "SignersNotAscending(uint256)",
        "HighS(uint256)",
        "InvalidSignature(uint256)",
        "BelowThreshold(uint256,uint256)",
        "InvalidProof()",
        // AlreadyDelivered is no longer raised: a message seen before is skipped (issue 9).
        "ForbiddenRecipient(address)",
        "Paused(uint32)",
        "NotAdmin()",
        "InvalidValidatorSet(string)",
        "UnsupportedVersion(uint8)",
        "UnsupportedHash(uint8)",
        "NotFailed(bytes32)",
        "MessageTooShort()",
        "BodyTooLarge()",
    ] {
        assert!(errors.contains(expected), "Inbox lacks {expected}");
    }
    let anchor = Artifact::load("Anchor").unwrap();
    let errors: BTreeSet<String> = anchor.abi.errors().map(|e| e.signature()).collect();
    for expected in ["InconsistentCheckpoint()", "StaleCheckpoint(uint64,uint64)"] {
        assert!(errors.contains(expected), "Anchor lacks {expected}");
    }
}

#[test]
fn malformed_artifacts_are_reported() {
    assert!(artifacts_dir().join("Inbox.json").is_file());
    let dir = std::env::temp_dir().join(format!("causeway-devnet-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Broken.json");
    std::fs::write(
        &path,
        r#"{"contractName":"Broken","abi":[],"bytecode":"0x","deployedBytecode":"0x00"}"#,
    )
    .unwrap();
    let err = Artifact::load_from(&path).unwrap_err();
    assert!(matches!(err, Error::ArtifactFormat { .. }), "{err}");
    assert!(err.to_string().contains("\"bytecode\" is empty"), "{err}");
    std::fs::write(&path, r#"{"abi":[]}"#).unwrap();
    assert!(
        Artifact::load_from(&path)
            .unwrap_err()
            .to_string()
            .contains("contractName")
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        Artifact::load_from(&dir.join("Missing.json")).unwrap_err(),
        Error::ArtifactRead { .. }
    ));
}

/// A zero value of a Solidity type (enough to ABI-encode any custom error's arguments).
fn zero(ty: &alloy::dyn_abi::DynSolType) -> alloy::dyn_abi::DynSolValue {
    use alloy::dyn_abi::{DynSolType as T, DynSolValue as V};
    use alloy::primitives::{Address, B256, I256, U256};
    match ty {
        T::Bool => V::Bool(false),
        T::Int(n) => V::Int(I256::ZERO, *n),
        T::Uint(n) => V::Uint(U256::ZERO, *n),
        T::FixedBytes(n) => V::FixedBytes(B256::ZERO, *n),
        T::Address => V::Address(Address::ZERO),
        T::Bytes => V::Bytes(Vec::new()),
        T::String => V::String(String::new()),
        other => panic!("no zero value for {other} in a custom error"),
    }
}

/// adapters/src/evm/bindings.rs restates the contracts' custom errors by hand (so the adapter
/// loads no artifacts): every error the compiled Inbox and Anchor can raise must decode there to
/// the reason of the same name, never to `Unknown`.
#[test]
fn every_custom_error_of_the_compiled_contracts_has_its_named_reason_in_the_adapter() {
    let mut checked = BTreeSet::new();
    for name in ["Inbox", "Anchor", "Outbox"] {
        let artifact = Artifact::load(name).unwrap();
        for error in artifact.abi.errors() {
            let args: Vec<_> = error
                .inputs
                .iter()
                .map(|p| zero(&alloy::dyn_abi::Specifier::resolve(p).unwrap()))
                .collect();
            let mut data = error.selector().to_vec();
            data.extend(alloy::dyn_abi::DynSolValue::Tuple(args).abi_encode_params());
            let reason = causeway_adapters::evm::bindings::decode_revert(&data);
            assert!(
                format!("{reason:?}").starts_with(&error.name),
                "{name}: {} decodes as {reason:?}",
                error.signature()
            );
            checked.insert(error.name.clone());
        }
    }
    // Errors.sol declares 24 custom errors; the Inbox alone raises most of them.
    assert!(checked.len() >= 20, "only {checked:?}");
}
