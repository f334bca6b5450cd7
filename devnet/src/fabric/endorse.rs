//! The endorsing side of the peer: opening a signed proposal as Fabric's endorser does
//! (creator and signature, channel, `CheckTxID`, duplicate transaction id), simulating the
//! chaincode, and assembling the endorsed transaction the Gateway returns from Endorse
//! (`shared/protocol/fabric.md` A.8 items 5, 6, 8).

use causeway_adapters::fabric::block::proposal_hash;
use causeway_adapters::fabric::proto::common::{
    ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
};
use causeway_adapters::fabric::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent,
    ChaincodeHeaderExtension, ChaincodeId, ChaincodeInvocationSpec, ChaincodeProposalPayload,
    Endorsement, Proposal, ProposalResponsePayload, Response, SignedProposal, Transaction,
    TransactionAction,
};
use causeway_adapters::fabric::{FabricIdentity, SigningIdentity, TransactionId};
use prost::Message as _;
use tonic::Status;

use super::faults::EndorsementFault;
use super::org::{ORG1, ORG2};
use super::peer::{Peer, lock, read};
use super::simulate::{Simulation, TxContext, simulate};
use causeway_chaincode::ChaincodeError;

/// The version the peer reports for every chaincode.
const CHAINCODE_VERSION: &str = "1.0";

/// A proposal that passed the endorser's checks.
pub(crate) struct OpenedProposal {
    pub(crate) tx_id: String,
    header: Header,
    signature_header: Vec<u8>,
    creator: FabricIdentity,
    pub(crate) chaincode: String,
    function: String,
    args: Vec<Vec<u8>>,
    /// The ChaincodeProposalPayload without its transient map, as it goes into the ledger.
    payload_for_tx: Vec<u8>,
    proposal_hash: [u8; 32],
}

fn bad(what: &str, e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{what}: {e}"))
}

impl Peer {
    /// Checks and decodes a signed proposal for `channel_id` whose id the request claims is
    /// `claimed_tx_id`.
    pub(crate) fn open_proposal(
        &self,
        signed: Option<SignedProposal>,
        channel_id: &str,
        claimed_tx_id: &str,
    ) -> Result<OpenedProposal, Status> {
        let signed = signed.ok_or_else(|| Status::invalid_argument("no proposed transaction"))?;
        let proposal =
            Proposal::decode(signed.proposal_bytes.as_slice()).map_err(|e| bad("Proposal", e))?;
        let header = Header::decode(proposal.header.as_slice()).map_err(|e| bad("Header", e))?;
        let channel_header = ChannelHeader::decode(header.channel_header.as_slice())
            .map_err(|e| bad("ChannelHeader", e))?;
        let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
            .map_err(|e| bad("SignatureHeader", e))?;
        if channel_header.channel_id != self.network.channel || channel_id != self.network.channel {
            return Err(Status::not_found(format!(
                "channel {:?} does not exist on this peer",
                channel_header.channel_id
            )));
        }
        if channel_header.r#type != HeaderType::EndorserTransaction as i32 {
            return Err(Status::invalid_argument(format!(
                "invalid header type {} for a proposal",
                channel_header.r#type
            )));
        }
        // CheckTxID: the id is hex(SHA-256(nonce || creator)), in the header and the request.
        let computed = TransactionId::derive(&signature_header.nonce, &signature_header.creator).0;
        if computed != channel_header.tx_id || computed != claimed_tx_id {
            return Err(Status::invalid_argument(format!(
                "invalid txID: got {:?}, expected {computed}",
                channel_header.tx_id
            )));
        }
        let lenient = self.accept_untrusted(&computed, &signature_header.creator);
        let creator = self.check_signed(
            &signature_header.creator,
            &signed.proposal_bytes,
            &signed.signature,
            lenient,
        )?;
        if read(&self.ledger).tx_status(&computed).is_some() {
            return Err(Status::already_exists(format!(
                "duplicate transaction found [{computed}]"
            )));
        }
        let extension = ChaincodeHeaderExtension::decode(channel_header.extension.as_slice())
            .map_err(|e| bad("ChaincodeHeaderExtension", e))?;
        let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice())
            .map_err(|e| bad("ChaincodeProposalPayload", e))?;
        let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice())
            .map_err(|e| bad("ChaincodeInvocationSpec", e))?
            .chaincode_spec
            .ok_or_else(|| Status::invalid_argument("no chaincode spec"))?;
        let chaincode = spec
            .chaincode_id
            .map(|id| id.name)
            .or_else(|| extension.chaincode_id.map(|id| id.name))
            .unwrap_or_default();
        let mut args = spec.input.map(|i| i.args).unwrap_or_default();
        if args.is_empty() {
            return Err(Status::invalid_argument(
                "no function name in the chaincode input",
            ));
        }
        let function = String::from_utf8(args.remove(0)).map_err(|e| bad("function name", e))?;
        let payload_for_tx = ChaincodeProposalPayload {
            input: payload.input,
            transient_map: Default::default(),
        }
        .encode_to_vec();
        let proposal_hash = proposal_hash(
            &header.channel_header,
            &header.signature_header,
            &payload_for_tx,
        );
        Ok(OpenedProposal {
            tx_id: computed,
            signature_header: header.signature_header.clone(),
            header,
            creator,
            chaincode,
            function,
            args,
            payload_for_tx,
            proposal_hash,
        })
    }

    /// Whether the creator checks of `tx_id` are relaxed: already, or now because
    /// [`super::Fault::AcceptUntrustedCreator`] is pending and the creator is not trusted.
    fn accept_untrusted(&self, tx_id: &str, creator: &[u8]) -> bool {
        let mut faults = lock(&self.faults);
        if faults.lenient_creator.contains(tx_id) {
            return true;
        }
        if !faults.accept_untrusted_creator {
            return false;
        }
        let untrusted = FabricIdentity::from_serialized(creator).is_ok_and(|identity| {
            self.channel_msps
                .validate(&identity, std::time::SystemTime::now())
                .is_err()
        });
        if untrusted {
            faults.accept_untrusted_creator = false;
            faults.lenient_creator.insert(tx_id.to_owned());
        }
        untrusted
    }

    /// Runs the proposal's chaincode against the current world state.
    pub(crate) fn simulate(&self, opened: &OpenedProposal) -> Simulation {
        let chaincodes = read(&self.chaincodes).clone();
        let ledger = read(&self.ledger);
        simulate(
            &self.network,
            &chaincodes,
            &ledger.world,
            &TxContext {
                creator: opened.creator.clone(),
                tx_id: opened.tx_id.clone(),
            },
            &opened.chaincode,
            &opened.function,
            &opened.args,
        )
    }

    /// The peers that endorse: those of `requested` organisations, or of every channel
    /// organisation the policy names; a pending [`EndorsementFault`] overrides both.
    fn endorsers_for(
        &self,
        tx_id: &str,
        requested: &[String],
    ) -> Result<Vec<SigningIdentity>, Status> {
        let fault = {
            let mut faults = lock(&self.faults);
            let fault = faults.endorsement.take();
            if fault.is_some() {
                faults.forced_valid.insert(tx_id.to_owned());
            }
            fault
        };
        let org = |mspid: &str| {
            self.endorsers
                .get(mspid)
                .cloned()
                .expect("the channel organisations have endorsing peers")
        };
        if let Some(fault) = fault {
            let faulty = &self.faulty;
            return Ok(match fault {
                EndorsementFault::OutsideOrgInsteadOfOrg2 => vec![org(ORG1), faulty.org3.clone()],
                EndorsementFault::AlsoOutsideOrg => {
                    vec![org(ORG1), org(ORG2), faulty.org3.clone()]
                }
                EndorsementFault::ExpiredOrg2Certificate => {
                    vec![org(ORG1), faulty.expired_org2.clone()]
                }
                EndorsementFault::Org2CertificateFromOtherCa => {
                    vec![org(ORG1), faulty.other_ca_org2.clone()]
                }
            });
        }
        if requested.is_empty() {
            return Ok(self.endorsers.values().cloned().collect());
        }
        requested
            .iter()
            .map(|mspid| {
                self.endorsers.get(mspid).cloned().ok_or_else(|| {
                    Status::unavailable(format!("no peers available for organization {mspid}"))
                })
            })
            .collect()
    }

    /// Endorses a successful simulation with the peers of `requested` organisations and
    /// assembles the unsigned transaction envelope (Endorse's `prepared_transaction`).
    pub(crate) fn endorse_proposal(
        &self,
        opened: &OpenedProposal,
        simulation: Simulation,
        requested: &[String],
    ) -> Result<Envelope, ChaincodeOrStatus> {
        let payload = simulation.result.map_err(ChaincodeOrStatus::Chaincode)?;
        let endorsers = self
            .endorsers_for(&opened.tx_id, requested)
            .map_err(ChaincodeOrStatus::Status)?;
        let events = simulation
            .event
            .map(|(event_name, payload)| {
                ChaincodeEvent {
                    chaincode_id: opened.chaincode.clone(),
                    tx_id: opened.tx_id.clone(),
                    event_name,
                    payload,
                }
                .encode_to_vec()
            })
            .unwrap_or_default();
        let action = ChaincodeAction {
            results: simulation.rwset.encode(),
            events,
            response: Some(Response {
                status: 200,
                message: String::new(),
                payload,
            }),
            chaincode_id: Some(ChaincodeId {
                path: String::new(),
                name: opened.chaincode.clone(),
                version: CHAINCODE_VERSION.to_owned(),
            }),
        };
        let proposal_response_payload = ProposalResponsePayload {
            proposal_hash: opened.proposal_hash.to_vec(),
            extension: action.encode_to_vec(),
        }
        .encode_to_vec();
        let endorsements = endorsers
            .iter()
            .map(|peer| {
                let endorser = peer.creator().to_vec();
                let signed = [proposal_response_payload.as_slice(), endorser.as_slice()].concat();
                Endorsement {
                    signature: peer.sign(&signed),
                    endorser,
                }
            })
            .collect();
        let transaction = Transaction {
            actions: vec![TransactionAction {
                header: opened.signature_header.clone(),
                payload: ChaincodeActionPayload {
                    chaincode_proposal_payload: opened.payload_for_tx.clone(),
                    action: Some(ChaincodeEndorsedAction {
                        proposal_response_payload,
                        endorsements,
                    }),
                }
                .encode_to_vec(),
            }],
        };
        let payload = Payload {
            header: Some(opened.header.clone()),
            data: transaction.encode_to_vec(),
        };
        Ok(Envelope {
            payload: payload.encode_to_vec(),
            signature: Vec::new(),
        })
    }
}

/// Why an endorsement failed: the chaincode's error, or the gateway's.
pub(crate) enum ChaincodeOrStatus {
    Chaincode(ChaincodeError),
    Status(Status),
}
