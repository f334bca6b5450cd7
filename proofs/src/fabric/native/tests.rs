//! Every check of [`FabricNativeVerifier`] passes on a well-formed block and fails when the one
//! thing it checks is bent.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use crate::Hash32;
use prost::Message as _;

use super::testkit::{
    CHANNEL, DOMAIN, Net, OUTBOX, TxSpec, block, current, expired, message, orderer_signatures_as,
    raw_block, resigned,
};
use super::*;
use crate::fabric::proto::common::{Block, Envelope};
use crate::fabric::{
    EndorsementPolicy, HeaderHash, MspRole, SigningIdentity, TrustedMsps, ValidationCode,
};

/// The adapters' `ObservedMessage` (message, source reference, native proof; same JSON), restated
/// here so that the checks read as the relayer's verify stage calls them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ObservedMessage {
    message: Message,
    source: SourceReference,
    proof: NativeProof,
}

/// [`FabricNativeVerifier::check`] of an [`ObservedMessage`].
trait VerifyObserved {
    fn verify(&self, observed: &ObservedMessage) -> Result<(), Error>;
    fn verify_at(&self, observed: &ObservedMessage, at: SystemTime) -> Result<(), Error>;
}

impl VerifyObserved for FabricNativeVerifier {
    fn verify(&self, o: &ObservedMessage) -> Result<(), Error> {
        self.check(&o.message, &o.source, &o.proof)
    }

    fn verify_at(&self, o: &ObservedMessage, at: SystemTime) -> Result<(), Error> {
        self.check_at(&o.message, &o.source, &o.proof, at)
    }
}

/// The observed message of transaction `index` in `block`, as the source would yield it.
fn observed(block: &FabricBlock, index: u32, tx_id: &str, message: Message) -> ObservedMessage {
    ObservedMessage {
        message,
        source: SourceReference {
            block_number: Some(block.number()),
            block_hash: Some(Hash32(block.header_hash().0)),
            transaction_hash: None,
            fabric_tx_id: Some(tx_id.to_owned()),
            event_index: Some(0),
        },
        proof: FabricSourceProof {
            block: block.clone(),
            tx_index: index,
        }
        .to_native_proof(),
    }
}

use crate::Message;

fn verifier(net: &Net) -> FabricNativeVerifier {
    FabricNativeVerifier::new(DOMAIN, net.config()).unwrap()
}

/// Builds block 3 with `spec` at index 1 (after an unrelated valid dispatch) and verifies it.
fn verify_spec(net: &Net, spec: TxSpec<'_>) -> Result<(), Error> {
    let id = spec.id();
    let first = net.dispatch(100);
    let block = block(3, Some(HeaderHash([9; 32])), &[first, spec], &net.orderer);
    verifier(net).verify(&observed(&block, 1, &id, message(7)))
}

/// [`verify_spec`] of dispatch 7 created by `creator`.
fn verify_created_by(net: &Net, creator: &SigningIdentity) -> Result<(), Error> {
    let mut spec = net.dispatch(7);
    spec.creator = creator;
    verify_spec(net, spec)
}

/// [`verify_spec`] of dispatch 7 endorsed by `endorsers`.
fn verify_endorsed_by(net: &Net, endorsers: &[&SigningIdentity]) -> Result<(), Error> {
    let mut spec = net.dispatch(7);
    spec.endorsers = endorsers.to_vec();
    verify_spec(net, spec)
}

/// Block 1 holding dispatch 7 endorsed by `endorsers`, and the transaction's id.
fn endorsed_block(net: &Net, endorsers: &[&SigningIdentity]) -> (FabricBlock, String) {
    let mut spec = net.dispatch(7);
    spec.endorsers = endorsers.to_vec();
    let id = spec.id();
    (block(1, None, &[spec], &net.orderer), id)
}

/// Why `verifier` refuses message 7 as transaction 0 (`id`) of `block`.
fn refusal(verifier: &FabricNativeVerifier, block: &FabricBlock, id: &str) -> String {
    reason(verifier.verify(&observed(block, 0, id, message(7))))
}

fn reason(result: Result<(), Error>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(()) => panic!("accepted"),
    }
}

#[test]
fn a_dispatch_in_a_valid_endorsed_signed_block_verifies() {
    let net = Net::new();
    verify_spec(&net, net.dispatch(7)).unwrap();
    // The JSON form round-trips and names the family.
    let spec = net.dispatch(7);
    let id = spec.id();
    let block = block(0, None, &[spec], &net.orderer);
    let o = observed(&block, 0, &id, message(7));
    let json = serde_json::to_string(&o).unwrap();
    assert!(json.contains("\"family\":\"fabric\""), "{json}");
    let back: ObservedMessage = serde_json::from_str(&json).unwrap();
    verifier(&net).verify(&back).unwrap();
}

#[test]
fn construction_fails_closed() {
    let net = Net::new();
    let refused = |config: FabricVerifierConfig| match FabricNativeVerifier::new(DOMAIN, config) {
        Err(Error::Config { reason }) => reason,
        other => panic!("accepted: {other:?}"),
    };
    let mut c = net.config();
    c.trusted = TrustedMsps::default();
    assert!(refused(c).contains("trusts no organisation"));
    let mut c = net.config();
    c.orderers = TrustedMsps::default();
    assert!(refused(c).contains("trusts no orderer"));
    let mut c = net.config();
    c.policy = EndorsementPolicy::AllOf(vec![]);
    assert!(refused(c).contains("names no organisation"));
    let mut c = net.config();
    c.policy = EndorsementPolicy::AllOf(vec!["Org1MSP".into(), "Org3MSP".into()]);
    assert!(refused(c).contains("names Org3MSP, whose MSP root certificates are not configured"));
    let mut c = net.config();
    c.policy = EndorsementPolicy::OutOf {
        n: 0,
        msps: vec!["Org1MSP".into()],
    };
    assert!(refused(c).contains("needs 0 of 1"));
    let mut c = net.config();
    c.policy = EndorsementPolicy::OutOf {
        n: 3,
        msps: vec!["Org1MSP".into(), "Org2MSP".into(), "Org2MSP".into()],
    };
    assert!(refused(c).contains("needs 3 of 2"));
    let mut c = net.config();
    c.orderer_signatures_required = 0;
    assert!(refused(c).contains("unsigned"));
    let mut c = net.config();
    c.channel = String::new();
    assert!(refused(c).contains("no channel"));
    let mut c = net.config();
    c.outbox_chaincode = String::new();
    assert!(refused(c).contains("no outbox"));
    // Majority and OutOf within bounds are fine.
    let mut c = net.config();
    c.policy = EndorsementPolicy::Majority(vec!["Org1MSP".into(), "Org2MSP".into()]);
    FabricNativeVerifier::new(DOMAIN, c).unwrap();
}

#[test]
fn the_source_reference_must_name_this_block_transaction_and_event() {
    let net = Net::new();
    let spec = net.dispatch(7);
    let id = spec.id();
    let block = block(5, Some(HeaderHash([1; 32])), &[spec], &net.orderer);
    let v = verifier(&net);
    let good = observed(&block, 0, &id, message(7));
    v.verify(&good).unwrap();

    let mut o = good.clone();
    o.source.block_hash = Some(Hash32([0xee; 32]));
    assert!(reason(v.verify(&o)).contains("header hash"));
    let mut o = good.clone();
    o.source.block_hash = None;
    assert!(reason(v.verify(&o)).contains("no block hash"));
    let mut o = good.clone();
    o.source.block_number = Some(6);
    assert!(reason(v.verify(&o)).contains("number 5"));
    let mut o = good.clone();
    o.source.event_index = Some(1);
    assert!(reason(v.verify(&o)).contains("event index"));
    let mut o = good.clone();
    o.source.fabric_tx_id = Some("00".repeat(32));
    assert!(reason(v.verify(&o)).contains("the source reference says"));
    let mut o = good.clone();
    o.source.fabric_tx_id = None;
    assert!(reason(v.verify(&o)).contains("no Fabric tx id"));
    // An EVM-style transaction hash is a claim nothing in a Fabric proof backs: refused.
    let mut o = good.clone();
    o.source.transaction_hash = Some(Hash32([0xab; 32]));
    assert!(reason(v.verify(&o)).contains("EVM transaction hash"));
    let o = observed(&block, 1, &id, message(7));
    assert!(reason(v.verify(&o)).contains("has no transaction 1"));
    // Another message than the event's.
    let o = observed(&block, 0, &id, message(8));
    assert!(reason(v.verify(&o)).contains("not the observed"));
    // A proof of another family, or garbled data.
    let mut o = good.clone();
    o.proof.family = ChainFamily::Evm;
    assert!(reason(v.verify(&o)).contains("not a Fabric proof"));
    let mut o = good;
    o.proof.data = serde_json::json!({"block": "!!", "tx_index": 0});
    assert!(reason(v.verify(&o)).contains("not base64"));
}

#[test]
fn a_tampered_data_section_fails_the_data_hash() {
    let net = Net::new();
    let spec = net.dispatch(7);
    let id = spec.id();
    let good = block(5, None, &[spec], &net.orderer);
    let mut raw: Block = good.block().clone();
    // Swap in another transaction; the header (hash, orderer signature) is unchanged.
    raw.data.as_mut().unwrap().data[0] = net.dispatch(8).envelope();
    let tampered = FabricBlock::new(raw).unwrap();
    assert_eq!(tampered.header_hash(), good.header_hash());
    let err = verifier(&net)
        .verify(&observed(&tampered, 0, &id, message(7)))
        .unwrap_err();
    assert!(err.to_string().contains("data_hash"), "{err}");
}

#[test]
fn the_block_needs_a_trusted_orderer_signature() {
    let net = Net::new();
    let spec = net.dispatch(7);
    let id = spec.id();
    // Signed by a member of Org1 (trusted as a member, not as an orderer).
    let by_peer = block(5, None, &[net.dispatch(7)], &net.peer1);
    let err = refusal(&verifier(&net), &by_peer, &id);
    assert!(err.contains("0 valid orderer signature(s) of 1"), "{err}");
    assert!(err.contains("unknown MSP Org1MSP"), "{err}");

    // A signature over another header.
    let good = block(5, None, &[spec], &net.orderer);
    let other = block(6, None, &[net.dispatch(7)], &net.orderer);
    let mut raw: Block = good.block().clone();
    raw.metadata.as_mut().unwrap().metadata[0] =
        other.block().metadata.as_ref().unwrap().metadata[0].clone();
    let resigned = FabricBlock::new(raw).unwrap();
    let err = refusal(&verifier(&net), &resigned, &id);
    assert!(err.contains("signature does not verify"), "{err}");

    // No signature at all.
    let mut raw: Block = good.block().clone();
    raw.metadata.as_mut().unwrap().metadata[0] = vec![];
    let unsigned = FabricBlock::new(raw).unwrap();
    let err = refusal(&verifier(&net), &unsigned, &id);
    assert!(err.contains("0 valid orderer signature(s) of 0"), "{err}");

    // Two distinct orderer signatures required, one present.
    let mut config = net.config();
    config.orderer_signatures_required = 2;
    config.consenters = vec![
        net.orderer.identity().clone(),
        net.orderer_org.role("orderer").identity().clone(),
    ];
    let v = FabricNativeVerifier::new(DOMAIN, config).unwrap();
    let err = refusal(&v, &good, &id);
    assert!(
        err.contains("1 valid orderer signature(s) of 1 present, 2 required"),
        "{err}"
    );
}

#[test]
fn a_transaction_the_committer_marked_invalid_is_refused() {
    let net = Net::new();
    let mut spec = net.dispatch(7);
    spec.code = ValidationCode(10); // ENDORSEMENT_POLICY_FAILURE
    let err = verify_spec(&net, spec).unwrap_err();
    assert!(matches!(&err, Error::NotValid { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("ENDORSEMENT_POLICY_FAILURE (10), not VALID"),
        "{err}"
    );
}

#[test]
fn the_creator_must_be_trusted_current_and_have_signed() {
    let net = Net::new();
    // A client of an organisation outside the trust.
    let outsider = net.org3.member();
    assert!(
        reason(verify_created_by(&net, &outsider)).contains("creator refused: unknown MSP Org3MSP")
    );
    // Expired certificate.
    let stale = net.org1.member_valid(expired());
    assert!(reason(verify_created_by(&net, &stale)).contains("is not valid at"));
    // Same MSP id, another CA.
    let impostor_org = super::testkit::Org::new("Org1MSP");
    let impostor = impostor_org.member();
    assert!(
        reason(verify_created_by(&net, &impostor))
            .contains("not issued by any of its MSP's root CAs")
    );
    // A tx id that is not derived from nonce and creator.
    let mut spec = net.dispatch(7);
    spec.tx_id = Some("ab".repeat(32));
    assert!(reason(verify_spec(&net, spec)).contains("is not derived from its nonce"));

    // A signature over other bytes.
    let spec = net.dispatch(7);
    let id = spec.id();
    let mut envelope = Envelope::decode(spec.envelope().as_slice()).unwrap();
    envelope.signature = net.client.sign(b"something else");
    let block = raw_block(
        2,
        None,
        vec![envelope.encode_to_vec()],
        vec![0],
        &net.orderer,
    );
    let err = refusal(&verifier(&net), &block, &id);
    assert!(
        err.contains("creator signature: signature does not verify"),
        "{err}"
    );
}

#[test]
fn endorsements_must_satisfy_the_policy_with_trusted_organisations() {
    let net = Net::new();
    let org3_peer = net.org3.member();
    // Org1 alone.
    let err = reason(verify_endorsed_by(&net, &[&net.peer1]));
    assert!(
        err.contains("endorsement policy 2 of [Org1MSP, Org2MSP] not satisfied"),
        "{err}"
    );
    // Org1 twice does not make two organisations.
    let other_org1_peer = net.org1.member();
    assert!(
        reason(verify_endorsed_by(&net, &[&net.peer1, &other_org1_peer])).contains("not satisfied")
    );
    // Org3 (outside the policy and the trust) instead of Org2.
    let err = reason(verify_endorsed_by(&net, &[&net.peer1, &org3_peer]));
    assert!(err.contains("refused: unknown MSP Org3MSP"), "{err}");
    // An Org2 endorser whose certificate expired.
    let stale = net.org2.member_valid(expired());
    assert!(reason(verify_endorsed_by(&net, &[&net.peer1, &stale])).contains("is not valid at"));
    // Org3 in addition to both: extra endorsements do not hurt.
    verify_endorsed_by(&net, &[&org3_peer, &net.peer1, &net.peer2]).unwrap();
    // With Org3 trusted but outside the policy, it still does not count.
    let mut config = net.config();
    config.trusted = TrustedMsps::new([net.org1.roots(), net.org2.roots(), net.org3.roots()]);
    let v = FabricNativeVerifier::new(DOMAIN, config).unwrap();
    let (b, id) = endorsed_block(&net, &[&net.peer1, &org3_peer]);
    let err = refusal(&v, &b, &id);
    assert!(err.contains("Org3MSP is not named by the policy"), "{err}");
}

#[test]
fn a_bad_endorsement_signature_does_not_count() {
    let net = Net::new();
    // peer2's certificate with peer1's signature: the endorser entry is Org2's, the signature
    // is not.
    let spec = net.dispatch(7);
    let id = spec.id();
    let mut envelope = Envelope::decode(spec.envelope().as_slice()).unwrap();
    // Rebuild with the Org2 endorsement's signature replaced.
    use crate::fabric::proto::common::Payload;
    use crate::fabric::proto::protos::{ChaincodeActionPayload, Transaction};
    let mut payload = Payload::decode(envelope.payload.as_slice()).unwrap();
    let mut tx = Transaction::decode(payload.data.as_slice()).unwrap();
    let mut cap = ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).unwrap();
    let action = cap.action.as_mut().unwrap();
    action.endorsements[1].signature = net.peer2.sign(b"another proposal response");
    tx.actions[0].payload = cap.encode_to_vec();
    payload.data = tx.encode_to_vec();
    envelope.payload = payload.encode_to_vec();
    envelope.signature = net.client.sign(&envelope.payload);
    let block = raw_block(
        2,
        None,
        vec![envelope.encode_to_vec()],
        vec![0],
        &net.orderer,
    );
    let err = refusal(&verifier(&net), &block, &id);
    assert!(err.contains("Org2MSP: signature does not verify"), "{err}");
}

#[test]
fn only_the_outbox_chaincode_dispatch_event_counts() {
    let net = Net::new();
    // A look-alike event from another chaincode.
    let mut spec = net.dispatch(7);
    spec.chaincode = "copycat".into();
    spec.event_chaincode = "copycat".into();
    let err = verify_spec(&net, spec).unwrap_err();
    assert!(
        matches!(&err, Error::ForeignEmitter { emitter, .. } if emitter.contains("copycat")),
        "{err}"
    );
    // An event claiming the outbox from an action of another chaincode.
    let mut spec = net.dispatch(7);
    spec.chaincode = "copycat".into();
    assert!(matches!(
        verify_spec(&net, spec),
        Err(Error::ForeignEmitter { .. })
    ));
    // The outbox's action with an event naming another chaincode.
    let mut spec = net.dispatch(7);
    spec.event_chaincode = "copycat".into();
    assert!(matches!(
        verify_spec(&net, spec),
        Err(Error::ForeignEmitter { .. })
    ));
    // Another event name.
    let mut spec = net.dispatch(7);
    spec.event_name = "causeway.Dispatched".into();
    assert!(reason(verify_spec(&net, spec)).contains("has no causeway.Dispatch event"));
    // A payload that is not a message, or a message of another origin.
    let mut spec = net.dispatch(7);
    spec.payload = b"not a message".to_vec();
    assert!(reason(verify_spec(&net, spec)).contains("not a Causeway message"));
    let mut spec = net.dispatch(7);
    spec.payload = crate::Message::new(
        crate::Nonce(7),
        crate::Domain(9),
        crate::Address32([1; 32]),
        crate::Domain(1),
        crate::Address32([2; 32]),
        b"hello 7".to_vec(),
    )
    .unwrap()
    .encode();
    assert!(reason(verify_spec(&net, spec)).contains("is not this chain's domain"));
    // Another channel.
    let mut spec = net.dispatch(7);
    spec.channel = "other".into();
    assert!(reason(verify_spec(&net, spec)).contains("is on channel `other`"));
}

#[test]
fn cached_identities_are_still_checked_for_expiry() {
    let net = Net::new();
    let spec = net.dispatch(7);
    let id = spec.id();
    let block = block(5, None, &[spec], &net.orderer);
    let o = observed(&block, 0, &id, message(7));
    let v = verifier(&net);
    let now = SystemTime::now();
    v.verify_at(&o, now).unwrap();
    // Two years on, every certificate has expired: the cache does not hide it.
    let later = now + Duration::from_secs(2 * 365 * 24 * 3600);
    assert!(reason(v.verify_at(&o, later)).contains("is not valid at"));
    // Still fine now, from the cache.
    v.verify_at(&o, now).unwrap();
    let _ = (CHANNEL, OUTBOX, current());
}

#[test]
fn only_peer_certificates_endorse_and_only_orderer_certificates_sign_blocks() {
    let net = Net::new();
    // Org2's client and admin certificates are trusted identities of Org2, not its peers.
    for ou in ["client", "admin"] {
        let not_a_peer = net.org2.role(ou);
        let err = reason(verify_endorsed_by(&net, &[&net.peer1, &not_a_peer]));
        assert!(
            err.contains("not satisfied")
                && err.contains(&format!(
                    "does not have the peer role (its NodeOU role: {ou})"
                )),
            "{err}"
        );
    }
    // A certificate without a NodeOU role, or with two, is no peer either.
    let none = net.org2.role("engineering");
    assert!(
        reason(verify_endorsed_by(&net, &[&net.peer1, &none])).contains("its NodeOU role: none")
    );
    // An MSP without NodeOUs is configured with the `member` role: then any identity counts.
    let client2 = net.org2.role("client");
    let mut config = net.config();
    config.endorser_role = MspRole::Member;
    let member_verifier = FabricNativeVerifier::new(DOMAIN, config).unwrap();
    let (b, id) = endorsed_block(&net, &[&net.peer1, &client2]);
    member_verifier
        .verify(&observed(&b, 0, &id, message(7)))
        .unwrap();
    assert!(refusal(&verifier(&net), &b, &id).contains("does not have the peer role"));

    // The ordering organisation's admin is trusted by the orderer roots but is no orderer.
    let orderer_admin = net.orderer_org.role("admin");
    let spec = net.dispatch(7);
    let id = spec.id();
    let b = block(1, None, &[spec], &orderer_admin);
    let err = refusal(&verifier(&net), &b, &id);
    assert!(
        err.contains("0 valid orderer signature(s) of 1")
            && err.contains("does not have the orderer role"),
        "{err}"
    );
}

#[test]
fn endorsements_of_another_proposal_are_refused() {
    let net = Net::new();
    // The endorsers signed a response naming the hash of another proposal (another nonce:
    // another transaction), whose signatures are otherwise valid.
    let other = net.dispatch(8);
    let mut spec = net.dispatch(7);
    spec.proposal_hash = Some(other.own_proposal_hash());
    let err = reason(verify_spec(&net, spec));
    assert!(err.contains("is not the hash of its proposal"), "{err}");
    // The honest hash passes (the same transaction otherwise).
    let spec = net.dispatch(7);
    assert_eq!(spec.own_proposal_hash().len(), 32);
    verify_spec(&net, spec).unwrap();
}

#[test]
fn a_policy_naming_an_organisation_twice_is_refused_at_load() {
    let net = Net::new();
    let mut c = net.config();
    c.policy = EndorsementPolicy::AllOf(vec!["Org1MSP".into(), "Org1MSP".into(), "Org2MSP".into()]);
    // Each organisation counts once, so this AND could never be satisfied.
    let both = ["Org1MSP".to_owned(), "Org2MSP".to_owned()]
        .into_iter()
        .collect();
    assert!(!c.policy.is_satisfied_by(&both));
    let err = FabricNativeVerifier::new(DOMAIN, c)
        .unwrap_err()
        .to_string();
    assert!(err.contains("names Org1MSP twice"), "{err}");
    let mut c = net.config();
    c.policy =
        EndorsementPolicy::Majority(vec!["Org1MSP".into(), "Org2MSP".into(), "Org2MSP".into()]);
    let err = FabricNativeVerifier::new(DOMAIN, c)
        .unwrap_err()
        .to_string();
    assert!(err.contains("names Org2MSP twice"), "{err}");
}

#[test]
fn cached_identities_are_still_checked_against_their_roots_expiry() {
    let net = Net::new();
    let now = SystemTime::now();
    let root_end = now + Duration::from_secs(3600);
    // Org1's root expires in an hour; its client and peer certificates run for a year.
    let org1 = super::testkit::Org::with_root_validity(
        "Org1MSP",
        super::testkit::validity(now - super::testkit::year(), root_end),
    );
    let (client, peer) = (org1.role("client"), org1.role("peer"));
    let mut config = net.config();
    config.trusted = TrustedMsps::new([org1.roots(), net.org2.roots()]);
    let v = FabricNativeVerifier::new(DOMAIN, config).unwrap();
    let mut spec = net.dispatch(7);
    spec.creator = &client;
    spec.endorsers = vec![&peer, &net.peer2];
    let id = spec.id();
    let b = block(5, None, &[spec], &net.orderer);
    let o = observed(&b, 0, &id, message(7));
    v.verify_at(&o, root_end - Duration::from_secs(10)).unwrap();
    // Twenty seconds later, well within the time a validation is reused, the root has expired.
    let err = reason(v.verify_at(&o, root_end + Duration::from_secs(10)));
    assert!(
        err.contains("is not valid at") && err.contains("CN=ca.Org1MSP"),
        "{err}"
    );
}

#[test]
fn the_creator_must_be_a_client_an_admin_or_a_peer() {
    let net = Net::new();
    for ou in ["client", "admin", "peer"] {
        verify_created_by(&net, &net.org1.role(ou)).unwrap();
    }
    for (ou, found) in [("orderer", "orderer"), ("engineering", "none")] {
        let err = reason(verify_created_by(&net, &net.org1.role(ou)));
        assert!(
            err.contains("creator refused")
                && err.contains("may not create transactions")
                && err.contains(&format!("its NodeOU role: {found})")),
            "{err}"
        );
    }
    // Without NodeOUs (endorsers counted as members) no role can be read: any trusted identity
    // may create.
    let mut config = net.config();
    config.endorser_role = MspRole::Member;
    let member_verifier = FabricNativeVerifier::new(DOMAIN, config).unwrap();
    let no_role = net.org1.role("orderer");
    let mut spec = net.dispatch(7);
    spec.creator = &no_role;
    let id = spec.id();
    let b = block(1, None, &[spec], &net.orderer);
    member_verifier
        .verify(&observed(&b, 0, &id, message(7)))
        .unwrap();
}

/// The creator bytes of `identity` with its certificate as DER instead of PEM.
fn der_creator(identity: &SigningIdentity) -> Vec<u8> {
    use der::Encode as _;
    crate::fabric::proto::msp::SerializedIdentity {
        mspid: identity.identity().mspid().to_owned(),
        id_bytes: identity.identity().certificate().to_der().unwrap(),
    }
    .encode_to_vec()
}

#[test]
fn one_orderer_certificate_in_three_encodings_is_one_signature() {
    let net = Net::new();
    let spec = net.dispatch(7);
    let id = spec.id();
    let good = block(5, None, &[spec], &net.orderer);
    let header = good.header().clone();
    // The orderer's certificate as PEM, as DER, and as PEM followed by an unknown protobuf
    // field (number 100, varint 1), which decoding ignores: three creators, one orderer.
    let pem_creator = net.orderer.creator().to_vec();
    let mut extra_field = pem_creator.clone();
    extra_field.extend_from_slice(&[0xa0, 0x06, 0x01]);
    let tripled = resigned(
        &good,
        &orderer_signatures_as(
            &header,
            &[
                (pem_creator, &net.orderer),
                (der_creator(&net.orderer), &net.orderer),
                (extra_field, &net.orderer),
            ],
        ),
    );
    // Three orderers with their own keys, the channel's consenters.
    let (o2, o3) = (
        net.orderer_org.role("orderer"),
        net.orderer_org.role("orderer"),
    );
    let mut config = net.config();
    config.orderer_signatures_required = 3;
    // Without consenters, a quorum above one is refused at once: the orderer CA could issue
    // one node three keys.
    let err = FabricNativeVerifier::new(DOMAIN, config.clone()).unwrap_err();
    assert!(err.to_string().contains("no consenters are named"), "{err}");
    config.consenters = vec![
        net.orderer.identity().clone(),
        o2.identity().clone(),
        o3.identity().clone(),
    ];
    let v = FabricNativeVerifier::new(DOMAIN, config.clone()).unwrap();
    let err = refusal(&v, &tripled, &id);
    assert!(
        err.contains("1 valid orderer signature(s) of 3 present, 3 required"),
        "{err}"
    );
    // The public check counts the same way.
    let now = SystemTime::now();
    assert!(matches!(
        tripled.verify_orderer_signatures(&config.orderers, MspRole::Orderer, now, 3),
        Err(crate::fabric::FabricError::NoValidOrdererSignature { .. })
    ));
    assert_eq!(
        tripled
            .verify_orderer_signatures(&config.orderers, MspRole::Orderer, now, 1)
            .unwrap()
            .len(),
        1
    );
    // Three consenters with their own keys meet the quorum.
    let three = resigned(
        &good,
        &orderer_signatures_as(
            &header,
            &[
                (net.orderer.creator().to_vec(), &net.orderer),
                (o2.creator().to_vec(), &o2),
                (o3.creator().to_vec(), &o3),
            ],
        ),
    );
    v.verify(&observed(&three, 0, &id, message(7))).unwrap();
}

#[test]
fn only_the_configured_consenters_count_toward_the_quorum() {
    let net = Net::new();
    let (o2, o3, outsider) = (
        net.orderer_org.role("orderer"),
        net.orderer_org.role("orderer"),
        net.orderer_org.role("orderer"),
    );
    let mut config = net.config();
    config.consenters = vec![
        net.orderer.identity().clone(),
        o2.identity().clone(),
        o3.identity().clone(),
    ];
    config.orderer_signatures_required = 2;
    let v = FabricNativeVerifier::new(DOMAIN, config.clone()).unwrap();
    let spec = net.dispatch(7);
    let id = spec.id();
    let good = block(5, None, &[spec], &net.orderer);
    let header = good.header().clone();
    let signed_by = |signers: &[&SigningIdentity]| {
        let signers: Vec<(Vec<u8>, &SigningIdentity)> =
            signers.iter().map(|s| (s.creator().to_vec(), *s)).collect();
        resigned(&good, &orderer_signatures_as(&header, &signers))
    };
    // An orderer certificate the orderer CA issued, but not a consenter of the channel.
    let err = refusal(&v, &signed_by(&[&net.orderer, &outsider]), &id);
    assert!(
        err.contains("1 valid orderer signature(s) of 2 present, 2 required")
            && err.contains("is not one of the configured consenters"),
        "{err}"
    );
    v.verify(&observed(
        &signed_by(&[&o3, &net.orderer]),
        0,
        &id,
        message(7),
    ))
    .unwrap();

    // The consenters are checked when the verifier is built.
    let refused = |config: FabricVerifierConfig| match FabricNativeVerifier::new(DOMAIN, config) {
        Err(Error::Config { reason }) => reason,
        other => panic!("accepted: {other:?}"),
    };
    let mut c = config.clone();
    c.consenters
        .push(crate::fabric::FabricIdentity::from_serialized(&der_creator(&net.orderer)).unwrap());
    assert!(refused(c).contains("consenters 0 and 3 have the same public key"));
    let mut c = config.clone();
    c.orderer_signatures_required = 4;
    assert!(refused(c).contains("only 3 consenters are named"));
    let mut c = config.clone();
    c.consenters.push(net.peer1.identity().clone());
    assert!(refused(c).contains("is not an orderer the verifier trusts: unknown MSP Org1MSP"));
    let mut c = config;
    c.consenters
        .push(net.orderer_org.role("admin").identity().clone());
    assert!(refused(c).contains("does not have the orderer role"));
}
