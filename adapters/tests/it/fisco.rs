//! The FISCO BCOS adapter against the devnet's FISCO BCOS test node, in both crypto modes:
//! the source yields the Outbox's messages in order with proofs it verified (and the offline
//! verifier agrees), refuses blocks below the sealer quorum and forged receipt proofs; the
//! destination delivers a batch to the Inbox with a transaction signed in the chain's mode.

use alloy::primitives::Address;
use alloy::sol_types::{SolCall, SolConstructor};
use causeway_adapters::fisco::{
    FiscoDestination, FiscoDestinationConfig, FiscoSource, FiscoSourceConfig,
};
use causeway_adapters::{
    Cursor, DeliveryBatch, DeliveryItem, DeliveryStatus, Destination, Error, NativeVerifier,
    Source, StateReader, SubmissionOutcome,
};
use causeway_devnet::contracts::Artifact;
use causeway_devnet::contracts::bindings::{Inbox, Outbox};
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, OriginLog, evm_signing_domain, message};
use causeway_proofs::fisco::{
    CryptoMode, FiscoError, NodeSecret, SealerSet, Transaction, TransactionData,
};
use causeway_proofs::{Domain, EvmAddress, LeafIndex, Signature};
use rand_core::{OsRng, RngCore};

pub(crate) const FISCO_DOMAIN: Domain = Domain(3001);
pub(crate) const OTHER_DOMAIN: Domain = Domain(3002);

fn signed(node: &FiscoNode, secret: &NodeSecret, to: &str, input: Vec<u8>) -> Transaction {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let data = TransactionData {
        chain_id: node.chain_id().to_owned(),
        group_id: node.group().to_owned(),
        block_limit: node.block_number() + 500,
        nonce: u128::from_be_bytes(nonce).to_string(),
        to: to.to_owned(),
        input,
        ..TransactionData::default()
    };
    Transaction::sign(data, secret, &mut OsRng).expect("signs")
}

pub(crate) async fn deploy(
    node: &FiscoNode,
    admin: &NodeSecret,
    name: &str,
    args: Vec<u8>,
) -> [u8; 20] {
    let mut code = Artifact::load(name).expect("artifact").bytecode.to_vec();
    code.extend_from_slice(&args);
    let receipt = node
        .submit(signed(node, admin, "", code))
        .await
        .expect("deployed");
    assert_eq!(receipt.status, 0, "deploying {name}");
    let mut a = [0u8; 20];
    hex::decode_to_slice(receipt.contract_address.trim_start_matches("0x"), &mut a)
        .expect("address");
    a
}

pub(crate) async fn dispatch(node: &FiscoNode, user: &NodeSecret, outbox: &[u8; 20], n: u8) {
    let input = Outbox::dispatchCall {
        destination: OTHER_DOMAIN.0,
        recipient: [n; 32].into(),
        body: vec![n; 16].into(),
    }
    .abi_encode();
    let receipt = node
        .submit(signed(node, user, &hex::encode(outbox), input))
        .await
        .expect("sealed");
    assert_eq!(receipt.status, 0);
}

fn source(node: &FiscoNode, outbox: [u8; 20], mode: CryptoMode) -> FiscoSource {
    FiscoSource::new(FiscoSourceConfig {
        endpoint: node.endpoint(),
        group: "group0".into(),
        domain: FISCO_DOMAIN,
        outbox: EvmAddress(outbox),
        sealers: SealerSet::new(mode, node.sealer_keys()).expect("four sealers"),
        range: 16,
    })
    .expect("source")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fisco_source_yields_proven_messages_and_refuses_bad_blocks_in_both_modes() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let node = FiscoNode::start(FiscoNodeConfig::new(mode))
            .await
            .expect("node");
        let user = NodeSecret::generate(mode, &mut OsRng);
        let outbox = deploy(
            &node,
            &user,
            "FiscoOutbox",
            Outbox::constructorCall {
                localDomain_: FISCO_DOMAIN.0,
            }
            .abi_encode(),
        )
        .await;
        for n in 0..3 {
            dispatch(&node, &user, &outbox, n).await;
        }
        let src = source(&node, outbox, mode);
        let batch = src
            .next_batch(&Cursor::Start { height: 0 })
            .await
            .expect("batch");
        let nonces: Vec<u64> = batch.messages.iter().map(|m| m.message.nonce().0).collect();
        assert_eq!(nonces, vec![0, 1, 2], "{mode}");
        assert!(batch.caught_up());
        let verifier = src.verifier();
        for m in &batch.messages {
            verifier.verify(m).expect("the offline check agrees");
        }
        // The same proof shown for another message is refused offline.
        let mut swapped = batch.messages[0].clone();
        swapped.message = batch.messages[1].message.clone();
        assert!(verifier.verify(&swapped).is_err());

        // Nothing new: the cursor stays.
        let again = src.next_batch(&batch.cursor).await.expect("batch");
        assert!(again.messages.is_empty());
        assert_eq!(again.cursor, batch.cursor);

        // Forged receipt proofs are refused (a rescan from the start meets them first).
        node.set_forge_receipt_proofs(true);
        match src.next_batch(&Cursor::Start { height: 0 }).await {
            Err(Error::Fisco(
                FiscoError::ProofMismatch { .. } | FiscoError::LeafNotInProof { .. },
            )) => {}
            other => panic!("{mode}: expected a refused receipt proof, got {other:?}"),
        }
        node.set_forge_receipt_proofs(false);

        // A block sealed by two of four sealers stops the source, nothing delivered from it.
        node.set_signing_sealers(Some(2));
        dispatch(&node, &user, &outbox, 9).await;
        match src.next_batch(&batch.cursor).await {
            Err(Error::Fisco(FiscoError::BelowQuorum {
                signed: 2,
                quorum: 3,
                ..
            })) => {}
            other => panic!("{mode}: expected BelowQuorum, got {other:?}"),
        }
        node.set_signing_sealers(None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fisco_destination_delivers_a_batch_in_both_modes() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let node = FiscoNode::start(FiscoNodeConfig::new(mode))
            .await
            .expect("node");
        let admin = NodeSecret::generate(mode, &mut OsRng);
        let admin_address = Address::from(admin.public_key().address());
        let inbox = deploy(
            &node,
            &admin,
            "Inbox",
            Inbox::constructorCall {
                localDomain_: FISCO_DOMAIN.0,
                admin_: admin_address,
                changeDelay_: 60,
            }
            .abi_encode(),
        )
        .await;
        let committee = Committee::new("causeway-fisco-it", 3, 2);
        let origin_chain_id = 31337;
        let set = Inbox::setValidatorsCall {
            origin: OTHER_DOMAIN.0,
            originChainId: origin_chain_id,
            validators: committee.addresses(),
            threshold: committee.threshold(),
        }
        .abi_encode();
        let r = node
            .submit(signed(&node, &admin, &hex::encode(inbox), set))
            .await
            .expect("sealed");
        assert_eq!(r.status, 0, "setValidators");

        let mut log = OriginLog::new();
        for n in 0..4u64 {
            log.append(message(
                n,
                OTHER_DOMAIN,
                Address::repeat_byte(0xaa),
                FISCO_DOMAIN,
                Address::repeat_byte(0xbb),
                b"hi",
            ));
        }
        let cp = log.checkpoint(OTHER_DOMAIN);
        // The Inbox reads the chain id from its EVM: the test node's engine (20200).
        let domain = evm_signing_domain(
            OTHER_DOMAIN,
            origin_chain_id,
            FISCO_DOMAIN,
            20200,
            Address::from(inbox),
            1,
        );
        let batch = DeliveryBatch {
            checkpoint: cp,
            signatures: committee
                .sign(&cp, &domain)
                .iter()
                .map(|s| Signature::from_slice(s).expect("65 bytes"))
                .collect(),
            items: (0..2)
                .map(|i| DeliveryItem {
                    message: log.messages()[i].clone(),
                    proof: log.proof(LeafIndex(i as u64)),
                })
                .collect(),
        };
        // Two signer accounts, used in turn.
        let relayers = [0, 1].map(|_| NodeSecret::generate(mode, &mut OsRng));
        let senders = relayers.each_ref().map(|k| k.public_key().address());
        let rpc = causeway_adapters::fisco::FiscoRpc::new(node.endpoint(), "group0").expect("rpc");
        let dest = FiscoDestination::with_keys(
            FiscoDestinationConfig {
                endpoint: node.endpoint(),
                chain_id: "chain0".into(),
                group: "group0".into(),
                domain: FISCO_DOMAIN,
                inbox: EvmAddress(inbox),
            },
            rpc.clone(),
            relayers.into(),
        )
        .expect("destination");
        assert_eq!(dest.senders(), senders);
        let sender_of = |handle: &causeway_adapters::SubmissionHandle| {
            let sub =
                causeway_adapters::fisco::FiscoSubmission::from_handle(handle).expect("fisco");
            let rpc = rpc.clone();
            async move {
                let tx = rpc
                    .transaction(&sub.transaction)
                    .await
                    .expect("getTransaction")
                    .expect("committed");
                tx.from.trim_start_matches("0x").to_lowercase()
            }
        };
        let ids = batch.ids();
        assert_eq!(
            dest.delivery_statuses(&ids).await.expect("statuses"),
            vec![DeliveryStatus::NotDelivered; 2]
        );
        let subs = dest.submit(&batch).await.expect("submitted");
        assert_eq!(subs.len(), 1);
        match dest.outcome(&subs[0].handle).await.expect("outcome") {
            SubmissionOutcome::Included { messages, .. } => {
                let got: Vec<_> = messages.iter().map(|(id, _)| *id).collect();
                assert_eq!(got, ids, "{mode}");
            }
            other => panic!("{mode}: {other:?}"),
        }
        assert_eq!(
            sender_of(&subs[0].handle).await,
            hex::encode(senders[0]),
            "{mode}"
        );
        // The next round is sent from the second account.
        let second = DeliveryBatch {
            checkpoint: batch.checkpoint,
            signatures: batch.signatures.clone(),
            items: (2..4)
                .map(|i| DeliveryItem {
                    message: log.messages()[i].clone(),
                    proof: log.proof(LeafIndex(i as u64)),
                })
                .collect(),
        };
        let next = dest.submit(&second).await.expect("submitted");
        assert!(
            matches!(dest.outcome(&next[0].handle).await.expect("outcome"), SubmissionOutcome::Included { ref messages, .. } if messages.len() == 2),
            "{mode}"
        );
        assert_eq!(
            sender_of(&next[0].handle).await,
            hex::encode(senders[1]),
            "{mode}"
        );
        let after = dest.delivery_statuses(&ids).await.expect("statuses");
        assert!(
            after.iter().all(|s| *s != DeliveryStatus::NotDelivered),
            "{mode}: {after:?}"
        );
        // The state reader calls the Inbox: statuses are 1 (delivered) or 2 (failed).
        let reader = causeway_adapters::fisco::FiscoStateReader::new(
            node.endpoint(),
            "group0",
            SealerSet::new(mode, node.sealer_keys()).expect("four sealers"),
        )
        .expect("reader");
        let read = reader
            .read(&causeway_adapters::StateQuery {
                contract: format!("0x{}", hex::encode(inbox)),
                key: Inbox::statusCall {
                    id: ids[0].0.0.into(),
                }
                .abi_encode(),
                at: causeway_adapters::ReadAt::Final,
                kind: causeway_adapters::ReadKind::Storage,
            })
            .await
            .expect("read");
        assert_eq!(read.value.len(), 32);
        assert!(matches!(read.value[31], 1 | 2), "{mode}: {:?}", read.value);
        assert_eq!(read.proof.data["value_proven"], false);
        // Submitting the same batch again is refused in simulation (already delivered) or
        // skipped by the Inbox; either way nothing is delivered twice.
        if let Ok(again) = dest.submit(&batch).await {
            for s in again {
                if let SubmissionOutcome::Included { messages, .. } =
                    dest.outcome(&s.handle).await.expect("outcome")
                {
                    assert!(messages.len() <= 2);
                }
            }
        }
    }
}
