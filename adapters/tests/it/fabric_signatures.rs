//! A Fabric endorser transaction built and signed here as a client, peers and an orderer would
//! (`shared/protocol/fabric.md` A.7, A.8), then checked as the Fabric source will check it:
//! creator signature and tx id, endorsements against policies, the orderer's block signature.

use std::time::SystemTime;

use causeway_adapters::fabric::proto::common::{
    Block, BlockData, BlockHeader, BlockMetadata, ChannelHeader, Envelope, Header, HeaderType,
    Metadata, MetadataSignature, Payload, SignatureHeader,
};
use causeway_adapters::fabric::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent, Endorsement,
    ProposalResponsePayload, Transaction, TransactionAction,
};
use causeway_adapters::fabric::{
    EndorsementPolicy, FabricBlock, FabricError, MspRole, SigningIdentity, TransactionId,
    TrustedMsps, data_hash, header_bytes,
};
use causeway_proofs::fabric::testkit::Org;
use p256::ecdsa::Signature;
use prost::Message as _;

fn event() -> ChaincodeEvent {
    ChaincodeEvent {
        chaincode_id: "causeway".into(),
        tx_id: String::new(),
        event_name: "MessageSent".into(),
        payload: b"canonical message".to_vec(),
    }
}

/// An endorser transaction by `client`, endorsed by `endorsers`; `tx_id` overrides the derived id.
fn transaction(
    client: &SigningIdentity,
    endorsers: &[&SigningIdentity],
    tx_id: Option<&str>,
) -> Vec<u8> {
    let nonce = vec![42u8; 24];
    let derived = TransactionId::derive(&nonce, client.creator()).0;
    let signature_header = SignatureHeader {
        creator: client.creator().to_vec(),
        nonce,
    }
    .encode_to_vec();
    let prp = ProposalResponsePayload {
        proposal_hash: vec![1; 32],
        extension: ChaincodeAction {
            events: event().encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec(),
    }
    .encode_to_vec();
    let endorsements = endorsers
        .iter()
        .map(|peer| {
            let signed = [prp.as_slice(), peer.creator()].concat();
            Endorsement {
                endorser: peer.creator().to_vec(),
                signature: peer.sign(&signed),
            }
        })
        .collect();
    let transaction = Transaction {
        actions: vec![TransactionAction {
            header: signature_header.clone(),
            payload: ChaincodeActionPayload {
                chaincode_proposal_payload: vec![],
                action: Some(ChaincodeEndorsedAction {
                    proposal_response_payload: prp,
                    endorsements,
                }),
            }
            .encode_to_vec(),
        }],
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: ChannelHeader {
                r#type: HeaderType::EndorserTransaction as i32,
                channel_id: "mychannel".into(),
                tx_id: tx_id.map_or(derived, str::to_owned),
                ..Default::default()
            }
            .encode_to_vec(),
            signature_header,
        }),
        data: transaction.encode_to_vec(),
    }
    .encode_to_vec();
    Envelope {
        signature: client.sign(&payload),
        payload,
    }
    .encode_to_vec()
}

/// Block 7 holding `txs` (all VALID), signed by `orderer`.
fn signed_block(txs: Vec<Vec<u8>>, orderer: &SigningIdentity) -> FabricBlock {
    let data = BlockData { data: txs };
    let header = BlockHeader {
        number: 7,
        previous_hash: vec![5; 32],
        data_hash: data_hash(&data).to_vec(),
    };
    let value = b"orderer block metadata".to_vec();
    let signature_header = SignatureHeader {
        creator: orderer.creator().to_vec(),
        nonce: vec![3; 24],
    }
    .encode_to_vec();
    let signed = [
        value.as_slice(),
        signature_header.as_slice(),
        &header_bytes(&header),
    ]
    .concat();
    let signatures = Metadata {
        value,
        signatures: vec![MetadataSignature {
            signature: orderer.sign(&signed),
            signature_header,
            identifier_header: vec![],
        }],
    };
    let filter = vec![0; data.data.len()];
    FabricBlock::new(Block {
        header: Some(header),
        data: Some(data),
        metadata: Some(BlockMetadata {
            metadata: vec![signatures.encode_to_vec(), vec![], filter, vec![], vec![]],
        }),
    })
    .unwrap()
}

#[test]
fn a_signed_endorsed_transaction_checks_out_and_tampering_fails() {
    let (org1, org2, org3, orderer_org) = (
        Org::new("Org1MSP"),
        Org::new("Org2MSP"),
        Org::new("Org3MSP"),
        Org::new("OrdererMSP"),
    );
    let peers = TrustedMsps::new([org1.roots(), org2.roots(), org3.roots()]);
    let orderers = TrustedMsps::new([orderer_org.roots()]);
    let (client, peer1, peer2, orderer) = (
        org1.role("client"),
        org1.member(),
        org2.member(),
        orderer_org.role("orderer"),
    );
    let now = SystemTime::now();

    let block = signed_block(
        vec![transaction(&client, &[&peer1, &peer2], None)],
        &orderer,
    );
    block.verify_data_hash().unwrap();
    let signers = block
        .verify_orderer_signatures(&orderers, MspRole::Orderer, now, 1)
        .unwrap();
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].mspid(), "OrdererMSP");
    assert!(block.validation_codes().unwrap()[0].is_valid());

    let tx = &block.transactions().unwrap()[0];
    assert_eq!(tx.verify_creator(&peers, now).unwrap().mspid(), "Org1MSP");
    let action = &tx.actions[0];
    assert_eq!(action.event, Some(event()));

    let and = EndorsementPolicy::AllOf(vec!["Org1MSP".into(), "Org2MSP".into()]);
    let endorsed = and.check(action, &peers, MspRole::Peer, now).unwrap();
    assert_eq!(
        endorsed.into_iter().collect::<Vec<_>>(),
        ["Org1MSP", "Org2MSP"]
    );
    let majority =
        EndorsementPolicy::Majority(vec!["Org1MSP".into(), "Org2MSP".into(), "Org3MSP".into()]);
    majority.check(action, &peers, MspRole::Peer, now).unwrap();
    let all3 = EndorsementPolicy::AllOf(vec!["Org1MSP".into(), "Org2MSP".into(), "Org3MSP".into()]);
    assert!(matches!(
        all3.check(action, &peers, MspRole::Peer, now),
        Err(FabricError::PolicyNotSatisfied { .. })
    ));
    // Without Org2 among the trusted MSPs its endorsement does not count.
    let only_org1 = TrustedMsps::new([org1.roots()]);
    assert!(matches!(
        and.check(action, &only_org1, MspRole::Peer, now),
        Err(FabricError::PolicyNotSatisfied { .. })
    ));

    // The orderer signature: two signers required, only one present; peers are not orderers.
    assert!(matches!(
        block.verify_orderer_signatures(&orderers, MspRole::Orderer, now, 2),
        Err(FabricError::NoValidOrdererSignature {
            number: 7,
            signatures: 1
        })
    ));
    assert!(
        block
            .verify_orderer_signatures(&peers, MspRole::Orderer, now, 1)
            .is_err()
    );
    // The signature covers the header: another previous_hash breaks it.
    let mut tampered = block.block().clone();
    tampered.header.as_mut().unwrap().previous_hash[0] ^= 1;
    let tampered = FabricBlock::new(tampered).unwrap();
    assert!(
        tampered
            .verify_orderer_signatures(&orderers, MspRole::Orderer, now, 1)
            .is_err()
    );

    // Roles (NodeOUs): the ordering organisation's admin does not sign blocks, and an Org2
    // client does not endorse for Org2.
    let by_admin = signed_block(
        vec![transaction(&client, &[&peer1, &peer2], None)],
        &orderer_org.role("admin"),
    );
    assert!(
        by_admin
            .verify_orderer_signatures(&orderers, MspRole::Orderer, now, 1)
            .is_err()
    );
    by_admin
        .verify_orderer_signatures(&orderers, MspRole::Member, now, 1)
        .unwrap();
    let org2_client = org2.role("client");
    let block = signed_block(
        vec![transaction(&client, &[&peer1, &org2_client], None)],
        &orderer,
    );
    let action = &block.transactions().unwrap()[0].actions[0];
    assert!(matches!(
        and.check(action, &peers, MspRole::Peer, now),
        Err(FabricError::PolicyNotSatisfied { ref endorsed_by, .. }) if endorsed_by == &["Org1MSP"]
    ));
    assert!(matches!(
        action.verify_endorsement(&action.endorsements[1], &peers, MspRole::Peer, now),
        Err(FabricError::RoleNotAllowed { .. })
    ));
    and.check(action, &peers, MspRole::Member, now).unwrap();
}

#[test]
fn bad_endorsements_and_creators_do_not_count() {
    let (org1, org2, orderer_org) = (
        Org::new("Org1MSP"),
        Org::new("Org2MSP"),
        Org::new("OrdererMSP"),
    );
    let peers = TrustedMsps::new([org1.roots(), org2.roots()]);
    let (client, peer1, peer2, orderer) = (
        org1.role("client"),
        org1.member(),
        org2.member(),
        orderer_org.role("orderer"),
    );
    let now = SystemTime::now();
    let and = EndorsementPolicy::AllOf(vec!["Org1MSP".into(), "Org2MSP".into()]);

    // Org2's endorsement replaced by its high-S twin: valid ECDSA, refused by Fabric.
    let block = signed_block(
        vec![transaction(&client, &[&peer1, &peer2], None)],
        &orderer,
    );
    let mut action = block.transactions().unwrap()[0].actions[0].clone();
    let low = Signature::from_der(&action.endorsements[1].signature).unwrap();
    let high = Signature::from_scalars(low.r(), -*low.s()).unwrap();
    action.endorsements[1].signature = high.to_der().as_bytes().to_vec();
    assert!(matches!(
        action.verify_endorsement(&action.endorsements[1], &peers, MspRole::Peer, now),
        Err(FabricError::HighS)
    ));
    assert!(matches!(
        and.check(&action, &peers, MspRole::Peer, now),
        Err(FabricError::PolicyNotSatisfied { .. })
    ));

    // Two endorsements by the same organisation do not make two organisations.
    let block = signed_block(
        vec![transaction(&client, &[&peer1, &peer1], None)],
        &orderer,
    );
    let action = &block.transactions().unwrap()[0].actions[0];
    assert!(and.check(action, &peers, MspRole::Peer, now).is_err());

    // A tx id not derived from nonce and creator.
    let block = signed_block(
        vec![transaction(&client, &[&peer1], Some("00ff"))],
        &orderer,
    );
    assert!(matches!(
        block.transactions().unwrap()[0].verify_creator(&peers, now),
        Err(FabricError::TxIdMismatch { .. })
    ));

    // A creator signature over other bytes.
    let mut envelope = Envelope::decode(transaction(&client, &[&peer1], None).as_slice()).unwrap();
    envelope.signature = client.sign(b"something else");
    let block = signed_block(vec![envelope.encode_to_vec()], &orderer);
    assert!(matches!(
        block.transactions().unwrap()[0].verify_creator(&peers, now),
        Err(FabricError::BadSignature)
    ));
}

#[test]
fn client_requests_are_built_and_signed_as_fabric_gateway_does() {
    use causeway_adapters::fabric::proto::gateway::{ChaincodeEventsRequest, CommitStatusRequest};
    use causeway_adapters::fabric::proto::orderer::{
        SeekInfo, SeekNewest, SeekPosition, SeekSpecified, seek_position,
    };
    use causeway_adapters::fabric::proto::protos::{
        ChaincodeHeaderExtension, ChaincodeInvocationSpec, ChaincodeProposalPayload, Proposal,
    };
    use causeway_adapters::fabric::request::{
        Invocation, TlsCertHash, chaincode_events_request, commit_status_request, propose,
        seek_envelope, sign_prepared,
    };

    let client = Org::new("Org1MSP").member();
    let identity = client.identity();
    let now = SystemTime::now();
    let nonce = [7u8; 24];
    let invocation = Invocation {
        channel_id: "mychannel".into(),
        chaincode: "causeway".into(),
        function: "send".into(),
        args: vec![b"a".to_vec(), b"b".to_vec()],
        transient: [("secret".to_owned(), b"s".to_vec())].into(),
    };
    let proposed = propose(&client, &invocation, nonce, now);
    assert_eq!(
        proposed.tx_id,
        TransactionId::derive(&nonce, client.creator())
    );
    identity
        .verify(
            &proposed.signed_proposal.proposal_bytes,
            &proposed.signed_proposal.signature,
        )
        .unwrap();

    let proposal = Proposal::decode(proposed.signed_proposal.proposal_bytes.as_slice()).unwrap();
    let header = Header::decode(proposal.header.as_slice()).unwrap();
    let channel_header = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    assert_eq!(
        channel_header.r#type,
        HeaderType::EndorserTransaction as i32
    );
    assert_eq!(channel_header.channel_id, "mychannel");
    assert_eq!(channel_header.tx_id, proposed.tx_id.0);
    let extension = ChaincodeHeaderExtension::decode(channel_header.extension.as_slice()).unwrap();
    assert_eq!(extension.chaincode_id.unwrap().name, "causeway");
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
    assert_eq!(signature_header.nonce, nonce);
    assert_eq!(signature_header.creator, client.creator());
    let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
    assert_eq!(payload.transient_map["secret"], b"s");
    let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice()).unwrap();
    let input = spec.chaincode_spec.unwrap().input.unwrap();
    assert_eq!(input.args, [b"send".to_vec(), b"a".to_vec(), b"b".to_vec()]);

    let mut prepared = Envelope {
        payload: b"prepared payload".to_vec(),
        signature: vec![],
    };
    sign_prepared(&client, &mut prepared);
    identity
        .verify(&prepared.payload, &prepared.signature)
        .unwrap();

    let status = commit_status_request(&client, &proposed.tx_id, "mychannel");
    identity.verify(&status.request, &status.signature).unwrap();
    let request = CommitStatusRequest::decode(status.request.as_slice()).unwrap();
    assert_eq!(request.transaction_id, proposed.tx_id.0);
    assert_eq!(request.identity, client.creator());

    let start = SeekPosition {
        r#type: Some(seek_position::Type::Specified(SeekSpecified { number: 5 })),
    };
    let events = chaincode_events_request(
        &client,
        "mychannel",
        "causeway",
        start,
        Some(&proposed.tx_id),
    );
    identity.verify(&events.request, &events.signature).unwrap();
    let request = ChaincodeEventsRequest::decode(events.request.as_slice()).unwrap();
    assert_eq!(request.start_position, Some(start));
    assert_eq!(request.after_transaction_id, proposed.tx_id.0);

    let seek = SeekInfo {
        start: Some(SeekPosition {
            r#type: Some(seek_position::Type::Newest(SeekNewest {})),
        }),
        stop: Some(SeekPosition {
            r#type: Some(seek_position::Type::Specified(SeekSpecified {
                number: u64::MAX,
            })),
        }),
        ..Default::default()
    };
    let envelope = seek_envelope(&client, "mychannel", &seek, None, nonce, now);
    identity
        .verify(&envelope.payload, &envelope.signature)
        .unwrap();
    let payload = Payload::decode(envelope.payload.as_slice()).unwrap();
    let channel_header =
        ChannelHeader::decode(payload.header.unwrap().channel_header.as_slice()).unwrap();
    assert_eq!(channel_header.r#type, HeaderType::DeliverSeekInfo as i32);
    // Without mutual TLS the header binds no certificate.
    assert!(channel_header.tls_cert_hash.is_empty());
    assert_eq!(SeekInfo::decode(payload.data.as_slice()).unwrap(), seek);

    // Under mutual TLS: SHA-256 of the client certificate's DER, in ChannelHeader field 8.
    let hash = TlsCertHash::of_der(b"certificate DER");
    let bound = seek_envelope(&client, "mychannel", &seek, Some(&hash), nonce, now);
    let payload = Payload::decode(bound.payload.as_slice()).unwrap();
    let channel_header =
        ChannelHeader::decode(payload.header.unwrap().channel_header.as_slice()).unwrap();
    assert_eq!(
        channel_header.tls_cert_hash,
        <sha2::Sha256 as sha2::Digest>::digest(b"certificate DER").to_vec()
    );
}
