//! The in-memory chain's Inbox against the real one (`contracts/src/Inbox.sol` on anvil): the
//! same batches, with replays inside (a delivered message, a failed one, one with a proof
//! that no longer matches, one message twice in a batch), go to both, and each must report the
//! same per-message outcomes and hold the same delivery records after. The Inbox's `deliverBatch` skips a message it has recorded
//! (`AlreadyDeliveredSkipped`, reported as that record says) without checking its proof again,
//! and never reverts the batch for it.

use alloy::primitives::Address;
use causeway_adapters::evm::{EvmDestination, EvmDestinationConfig};
use causeway_adapters::memory::MemoryChain;
use causeway_adapters::{
    DeliveryBatch, DeliveryItem, DeliveryStatus, Destination, Error, MessageOutcome,
    SubmissionOutcome,
};
use causeway_devnet::contracts::deploy_example_recipient;
use causeway_devnet::fixtures::{Committee, OriginLog, evm_signing_domain, message};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_proofs::{LeafIndex, MessageId, Signature, SigningDomain, TrustAnchor, ValidatorSet};

/// Dev account used as the relayer (the admin is account 0).
const RELAYER: usize = 6;

/// What a destination made of one submitted batch: its per-message outcomes, or the reason
/// it refused the whole batch.
async fn deliver(
    dest: &impl Destination,
    batch: &DeliveryBatch,
) -> Result<Vec<(MessageId, MessageOutcome)>, String> {
    let subs = match dest.submit(batch).await {
        Ok(subs) => subs,
        Err(Error::Reverted { reason }) => return Err(format!("reverted: {reason}")),
        Err(e) => panic!("not a refusal of the batch: {e}"),
    };
    let mut outcomes = Vec::new();
    for sub in subs {
        let outcome = loop {
            match dest.outcome(&sub.handle).await.unwrap() {
                SubmissionOutcome::Pending => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                other => break other,
            }
        };
        match outcome {
            SubmissionOutcome::Included { messages, .. } => outcomes.extend(messages),
            other => panic!("expected Included, got {other:?}"),
        }
    }
    Ok(outcomes)
}

/// `outcomes` with the recipient's own revert reasons left out: the real recipient's reason
/// is its revert data, the in-memory recipient has none to give. Everything the Inbox itself
/// says is kept.
fn comparable(outcomes: &[(MessageId, MessageOutcome)]) -> Vec<(MessageId, String)> {
    outcomes
        .iter()
        .map(|(id, o)| {
            let o = match o {
                MessageOutcome::Failed { reason }
                    if reason != "recorded failed by an earlier transaction" =>
                {
                    "failed by its recipient".to_owned()
                }
                other => format!("{other:?}"),
            };
            (*id, o)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_inbox_does_what_the_contract_does_with_replays_inside_a_batch() {
    let chain = DevChain::start(CHAIN_B).await.unwrap();
    let committee = Committee::new("causeway-memory-inbox", 3, 2);
    let inbox = *chain.inbox.address();
    let epoch = committee
        .install(&chain.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .unwrap()
        .validator_epoch;
    let domain: SigningDomain = evm_signing_domain(
        CHAIN_A.domain,
        CHAIN_A.chain_id,
        CHAIN_B.domain,
        CHAIN_B.chain_id,
        inbox,
        epoch,
    );
    let mut config = EvmDestinationConfig::new(chain.node.endpoint(), CHAIN_B.domain, inbox);
    config.chain_id = Some(CHAIN_B.chain_id);
    let evm = EvmDestination::new(config, &chain.node.dev_keys()[RELAYER].to_bytes().0).unwrap();
    let memory = MemoryChain::new(CHAIN_B.domain, 0).with_trust(TrustAnchor {
        signing_domain: domain,
        validators: ValidatorSet::new(
            committee.keys().iter().map(|k| k.address()).collect(),
            usize::from(committee.threshold()),
        )
        .unwrap(),
    });

    // Message 1's recipient refuses it (recorded failed at the destination).
    let refusing = deploy_example_recipient(&chain.provider, inbox)
        .await
        .unwrap();
    refusing
        .setShouldRevert(true)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let good = *chain.recipient.address();
    let to = |i: u64| -> Address { if i == 1 { *refusing.address() } else { good } };
    let mut log = OriginLog::new();
    for i in 0..9u64 {
        log.append(message(
            i,
            CHAIN_A.domain,
            Address::repeat_byte(0xaa),
            CHAIN_B.domain,
            to(i),
            format!("body {i}").as_bytes(),
        ));
    }
    let ids: Vec<MessageId> = log.messages().iter().map(|m| m.id()).collect();
    memory.refuse(ids[1]);
    let cp = log.checkpoint(CHAIN_A.domain);
    let signatures: Vec<Signature> = committee
        .sign(&cp, &domain)
        .iter()
        .map(|s| Signature::from_slice(s).unwrap())
        .collect();
    // Each item: a message of the log, with the proof of the leaf at `proof` (its own, or
    // another's: a proof that does not match).
    let batch = |items: &[(usize, usize)]| DeliveryBatch {
        checkpoint: cp,
        signatures: signatures.clone(),
        items: items
            .iter()
            .map(|&(m, proof)| DeliveryItem {
                message: log.messages()[m].clone(),
                proof: log.proof(LeafIndex(proof as u64)),
            })
            .collect(),
    };
    let batches = [
        // Fresh: delivered, failed by its recipient, delivered.
        batch(&[(0, 0), (1, 1), (2, 2)]),
        // Replays inside fresh messages: a delivered one, a failed one, and a delivered one
        // whose proof is another leaf's (a recorded message's proof is not checked again).
        batch(&[(3, 3), (0, 0), (4, 4), (1, 1), (2, 5)]),
        // One message twice in a batch: delivered, then skipped as just recorded.
        batch(&[(6, 6), (7, 7), (6, 6)]),
        // Only replays.
        batch(&[(2, 2), (4, 4)]),
    ];

    for (n, b) in batches.iter().enumerate() {
        let on_chain = deliver(&evm, b).await;
        let in_memory = deliver(&memory, b).await;
        match (&on_chain, &in_memory) {
            (Ok(chain_outcomes), Ok(memory_outcomes)) => assert_eq!(
                comparable(memory_outcomes),
                comparable(chain_outcomes),
                "batch {n}: the same outcomes per message"
            ),
            (Err(chain_refusal), Err(memory_refusal)) => assert_eq!(
                memory_refusal, chain_refusal,
                "batch {n}: refused for the same reason"
            ),
            _ => panic!(
                "batch {n}: the contract gave {on_chain:?}, the in-memory Inbox {in_memory:?}"
            ),
        }
    }
    // The batch with a replay inside was delivered by both, not refused.
    assert!(deliver(&memory, &batches[3]).await.is_ok());
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            memory.delivery_status(id).await.unwrap(),
            evm.delivery_status(id).await.unwrap(),
            "message {i}: the same record"
        );
    }
    assert_eq!(
        evm.delivery_status(&ids[1]).await.unwrap(),
        DeliveryStatus::Failed
    );
    assert_eq!(
        evm.delivery_status(&ids[8]).await.unwrap(),
        DeliveryStatus::NotDelivered
    );
}
