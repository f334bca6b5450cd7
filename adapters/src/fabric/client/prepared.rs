//! The check of the prepared transaction a gateway returns from Endorse against the proposal
//! we sent, before we sign it: a faulty or malicious gateway peer must not obtain our
//! signature on another transaction (`shared/protocol/fabric.md` A.8 items 5-6, as Fabric's
//! `protoutil.CreateSignedTx` assembles it from the proposal and its responses).

use prost::Message as _;

use crate::fabric::block::proposal_hash;
use crate::fabric::proto::common::{Envelope, Header, Payload};
use crate::fabric::proto::protos::{
    ChaincodeActionPayload, ChaincodeProposalPayload, Proposal, ProposalResponsePayload,
    SignedProposal, Transaction,
};
use causeway_proofs::fabric::{FabricError, decode};

/// Checks that `prepared` is the endorser transaction of `proposal` (transaction `tx_id`):
/// its payload header is the proposal's header byte for byte (same channel header, hence tx
/// id, channel and chaincode; same signature header, hence creator and nonce), and its data is
/// a `protos.Transaction` with exactly one action whose header is the proposal's signature
/// header, whose chaincode proposal payload is the proposal's without transient data, and
/// whose endorsed `proposal_hash` is the hash of that proposal.
pub(super) fn check_prepared(
    tx_id: &str,
    proposal: &SignedProposal,
    prepared: &Envelope,
) -> Result<(), FabricError> {
    let mismatch = |part: &'static str| FabricError::PreparedTransactionMismatch {
        tx_id: tx_id.to_owned(),
        part,
    };
    // Our own proposal, as we encoded it.
    let proposal: Proposal = decode(&proposal.proposal_bytes, || {
        "protos.Proposal we signed".to_owned()
    })?;
    let ours: Header = decode(&proposal.header, || {
        "common.Header of the proposal we signed".to_owned()
    })?;
    let mut our_payload: ChaincodeProposalPayload = decode(&proposal.payload, || {
        "protos.ChaincodeProposalPayload of the proposal we signed".to_owned()
    })?;
    our_payload.transient_map.clear();
    let our_payload_for_tx = our_payload.encode_to_vec();

    // The gateway's transaction.
    let payload: Payload = decode(&prepared.payload, || {
        "common.Payload of the prepared transaction".to_owned()
    })?;
    let header = payload.header.as_ref().ok_or(FabricError::MissingField {
        what: "common.Payload.header of the prepared transaction",
    })?;
    if header.channel_header != ours.channel_header {
        return Err(mismatch(
            "channel header (type, channel, tx id, time or chaincode)",
        ));
    }
    if header.signature_header != ours.signature_header {
        return Err(mismatch("signature header (creator or nonce)"));
    }
    let transaction: Transaction = decode(&payload.data, || {
        "protos.Transaction of the prepared transaction".to_owned()
    })?;
    let [action] = transaction.actions.as_slice() else {
        return Err(mismatch("number of actions (not exactly one)"));
    };
    if action.header != ours.signature_header {
        return Err(mismatch("action's signature header"));
    }
    let action_payload: ChaincodeActionPayload = decode(&action.payload, || {
        "protos.ChaincodeActionPayload of the prepared transaction".to_owned()
    })?;
    if action_payload.chaincode_proposal_payload != our_payload_for_tx {
        return Err(mismatch(
            "chaincode proposal payload (chaincode, function or arguments)",
        ));
    }
    let endorsed = action_payload
        .action
        .as_ref()
        .ok_or(FabricError::MissingField {
            what: "protos.ChaincodeActionPayload.action of the prepared transaction",
        })?;
    let response: ProposalResponsePayload = decode(&endorsed.proposal_response_payload, || {
        "protos.ProposalResponsePayload of the prepared transaction".to_owned()
    })?;
    let computed = proposal_hash(
        &ours.channel_header,
        &ours.signature_header,
        &our_payload_for_tx,
    );
    if response.proposal_hash.as_slice() != computed.as_slice() {
        return Err(mismatch("endorsed proposal hash"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;
    use std::time::SystemTime;

    use super::*;
    use crate::fabric::proto::protos::{ChaincodeEndorsedAction, TransactionAction};
    use crate::fabric::request::{Invocation, ProposedTransaction, propose};
    use causeway_proofs::fabric::testkit::Org;

    fn proposed() -> ProposedTransaction {
        let invocation = Invocation {
            channel_id: "mychannel".to_owned(),
            chaincode: "basic".to_owned(),
            function: "Transfer".to_owned(),
            args: vec![b"asset1".to_vec(), b"bob".to_vec()],
            transient: HashMap::from([("secret".to_owned(), b"hidden".to_vec())]),
        };
        propose(
            &Org::new("Org1MSP").member(),
            &invocation,
            [7; 24],
            SystemTime::now(),
        )
    }

    /// The prepared transaction of `proposed` as Fabric's gateway assembles it, with its
    /// payload and transaction passed through `edit_payload` and `edit_tx` first.
    fn prepared(
        proposed: &ProposedTransaction,
        edit_tx: impl FnOnce(&mut Transaction),
        edit_payload: impl FnOnce(&mut Payload),
    ) -> Envelope {
        let proposal =
            Proposal::decode(proposed.signed_proposal.proposal_bytes.as_slice()).unwrap();
        let header = Header::decode(proposal.header.as_slice()).unwrap();
        let mut cpp = ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
        cpp.transient_map.clear();
        let cpp = cpp.encode_to_vec();
        let hash = proposal_hash(&header.channel_header, &header.signature_header, &cpp);
        let mut transaction = Transaction {
            actions: vec![TransactionAction {
                header: header.signature_header.clone(),
                payload: ChaincodeActionPayload {
                    chaincode_proposal_payload: cpp,
                    action: Some(ChaincodeEndorsedAction {
                        proposal_response_payload: ProposalResponsePayload {
                            proposal_hash: hash.to_vec(),
                            extension: Vec::new(),
                        }
                        .encode_to_vec(),
                        endorsements: Vec::new(),
                    }),
                }
                .encode_to_vec(),
            }],
        };
        edit_tx(&mut transaction);
        let mut payload = Payload {
            header: Some(header),
            data: transaction.encode_to_vec(),
        };
        edit_payload(&mut payload);
        Envelope {
            payload: payload.encode_to_vec(),
            signature: Vec::new(),
        }
    }

    fn check(proposed: &ProposedTransaction, envelope: &Envelope) -> Result<(), FabricError> {
        check_prepared(&proposed.tx_id.0, &proposed.signed_proposal, envelope)
    }

    fn part(result: Result<(), FabricError>) -> &'static str {
        match result {
            Err(FabricError::PreparedTransactionMismatch { part, .. }) => part,
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[test]
    fn the_transaction_of_our_proposal_passes_without_its_transient_data() {
        let proposed = proposed();
        check(&proposed, &prepared(&proposed, |_| {}, |_| {})).unwrap();
    }

    #[test]
    fn another_signature_header_is_refused() {
        let proposed = proposed();
        let other = propose(
            &Org::new("Org1MSP").member(),
            &Invocation::default(),
            [8; 24],
            SystemTime::now(),
        );
        let other_header = Header::decode(
            Proposal::decode(other.signed_proposal.proposal_bytes.as_slice())
                .unwrap()
                .header
                .as_slice(),
        )
        .unwrap();
        let envelope = prepared(
            &proposed,
            |_| {},
            |p| p.header.as_mut().unwrap().signature_header = other_header.signature_header,
        );
        assert_eq!(
            part(check(&proposed, &envelope)),
            "signature header (creator or nonce)"
        );
    }

    #[test]
    fn not_exactly_one_action_is_refused() {
        let proposed = proposed();
        let none = prepared(&proposed, |t| t.actions.clear(), |_| {});
        let two = prepared(&proposed, |t| t.actions.push(t.actions[0].clone()), |_| {});
        for envelope in [none, two] {
            assert_eq!(
                part(check(&proposed, &envelope)),
                "number of actions (not exactly one)"
            );
        }
    }

    #[test]
    fn an_action_under_another_header_is_refused() {
        let proposed = proposed();
        let envelope = prepared(&proposed, |t| t.actions[0].header.push(0), |_| {});
        assert_eq!(
            part(check(&proposed, &envelope)),
            "action's signature header"
        );
    }

    #[test]
    fn a_payload_keeping_the_transient_data_is_refused() {
        // The transient data must never reach the ledger.
        let proposed = proposed();
        let proposal =
            Proposal::decode(proposed.signed_proposal.proposal_bytes.as_slice()).unwrap();
        let envelope = prepared(
            &proposed,
            |t| {
                let mut action =
                    ChaincodeActionPayload::decode(t.actions[0].payload.as_slice()).unwrap();
                action.chaincode_proposal_payload = proposal.payload.clone();
                t.actions[0].payload = action.encode_to_vec();
            },
            |_| {},
        );
        assert_eq!(
            part(check(&proposed, &envelope)),
            "chaincode proposal payload (chaincode, function or arguments)"
        );
    }

    #[test]
    fn undecodable_or_headerless_transactions_are_refused() {
        let proposed = proposed();
        let headerless = prepared(&proposed, |_| {}, |p| p.header = None);
        assert!(matches!(
            check(&proposed, &headerless),
            Err(FabricError::MissingField { .. })
        ));
        let garbage = prepared(&proposed, |_| {}, |p| p.data = vec![0xff; 3]);
        assert!(matches!(
            check(&proposed, &garbage),
            Err(FabricError::Decode { .. })
        ));
        let no_action = prepared(
            &proposed,
            |t| {
                let mut action =
                    ChaincodeActionPayload::decode(t.actions[0].payload.as_slice()).unwrap();
                action.action = None;
                t.actions[0].payload = action.encode_to_vec();
            },
            |_| {},
        );
        assert!(matches!(
            check(&proposed, &no_action),
            Err(FabricError::MissingField { .. })
        ));
    }
}
