//! Building and signing the client's requests as fabric-gateway does
//! (`shared/protocol/fabric.md` A.5, A.7): proposals for Evaluate/Endorse, the signature of a
//! prepared transaction for Submit, signed CommitStatus and ChaincodeEvents requests, and the
//! DELIVER_SEEK_INFO envelope of the Deliver service. Offline: the caller supplies nonce and
//! time, so every byte is reproducible in tests.

use std::collections::HashMap;
use std::time::SystemTime;

use prost::Message as _;
use sha2::{Digest, Sha256};

use super::identity::{SigningIdentity, TransactionId};
use super::proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use super::proto::gateway::{
    ChaincodeEventsRequest, CommitStatusRequest, SignedChaincodeEventsRequest,
    SignedCommitStatusRequest,
};
use super::proto::orderer::{SeekInfo, SeekPosition};
use super::proto::protos::{
    ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, ChaincodeSpec, Proposal, SignedProposal, chaincode_spec,
};

/// Length of the random nonce fabric-gateway puts in every signature header.
pub const NONCE_LEN: usize = 24;

/// A chaincode invocation to propose.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    /// Channel name.
    pub channel_id: String,
    /// Chaincode name.
    pub chaincode: String,
    /// Transaction function name (`args[0]`).
    pub function: String,
    /// Function arguments.
    pub args: Vec<Vec<u8>>,
    /// Transient data (reaches the endorsers, never the ledger).
    pub transient: HashMap<String, Vec<u8>>,
}

impl Invocation {
    /// `chaincode.function(args)` on `channel`, without transient data.
    pub fn new(channel: &str, chaincode: &str, function: &str, args: Vec<Vec<u8>>) -> Self {
        Invocation {
            channel_id: channel.to_owned(),
            chaincode: chaincode.to_owned(),
            function: function.to_owned(),
            args,
            transient: HashMap::new(),
        }
    }
}

/// A signed proposal and the id of the transaction it proposes.
#[derive(Clone, Debug)]
pub struct ProposedTransaction {
    /// hex(SHA-256(nonce || creator)).
    pub tx_id: TransactionId,
    /// What Evaluate and Endorse carry.
    pub signed_proposal: SignedProposal,
}

/// Builds and signs the proposal of `invocation` (fabric.md A.7 steps 1-10).
pub fn propose(
    signer: &SigningIdentity,
    invocation: &Invocation,
    nonce: [u8; NONCE_LEN],
    now: SystemTime,
) -> ProposedTransaction {
    let creator = signer.creator().to_vec();
    let tx_id = TransactionId::derive(&nonce, &creator);
    let chaincode_id = ChaincodeId {
        name: invocation.chaincode.clone(),
        ..Default::default()
    };
    let channel_header = ChannelHeader {
        r#type: HeaderType::EndorserTransaction as i32,
        timestamp: Some(now.into()),
        channel_id: invocation.channel_id.clone(),
        tx_id: tx_id.0.clone(),
        extension: ChaincodeHeaderExtension {
            chaincode_id: Some(chaincode_id.clone()),
            ..Default::default()
        }
        .encode_to_vec(),
        ..Default::default()
    };
    let header = Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: SignatureHeader {
            creator,
            nonce: nonce.to_vec(),
        }
        .encode_to_vec(),
    };
    let mut args = Vec::with_capacity(invocation.args.len() + 1);
    args.push(invocation.function.as_bytes().to_vec());
    args.extend(invocation.args.iter().cloned());
    let spec = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            // As fabric-gateway (1.x, `ProposalBuilder#newChaincodeSpec`) sets it in every
            // proposal, whatever the chaincode's language; peers ignore it for an installed
            // chaincode.
            r#type: chaincode_spec::Type::Node as i32,
            chaincode_id: Some(chaincode_id),
            input: Some(ChaincodeInput {
                args,
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    let payload = ChaincodeProposalPayload {
        input: spec.encode_to_vec(),
        transient_map: invocation.transient.clone(),
    };
    let proposal_bytes = Proposal {
        header: header.encode_to_vec(),
        payload: payload.encode_to_vec(),
        extension: Vec::new(),
    }
    .encode_to_vec();
    let signature = signer.sign(&proposal_bytes);
    ProposedTransaction {
        tx_id,
        signed_proposal: SignedProposal {
            proposal_bytes,
            signature,
        },
    }
}

/// Signs the prepared transaction Endorse returned, for Submit (A.7 step 12).
pub fn sign_prepared(signer: &SigningIdentity, prepared: &mut Envelope) {
    prepared.signature = signer.sign(&prepared.payload);
}

/// A signed CommitStatus request (A.7 step 13).
pub fn commit_status_request(
    signer: &SigningIdentity,
    tx_id: &TransactionId,
    channel_id: &str,
) -> SignedCommitStatusRequest {
    let request = CommitStatusRequest {
        transaction_id: tx_id.0.clone(),
        channel_id: channel_id.to_owned(),
        identity: signer.creator().to_vec(),
    }
    .encode_to_vec();
    SignedCommitStatusRequest {
        signature: signer.sign(&request),
        request,
    }
}

/// A signed ChaincodeEvents request (A.7 step 14): events of `chaincode` from `start`,
/// skipping those up to and including `after_tx_id` in the start block.
pub fn chaincode_events_request(
    signer: &SigningIdentity,
    channel_id: &str,
    chaincode: &str,
    start: SeekPosition,
    after_tx_id: Option<&TransactionId>,
) -> SignedChaincodeEventsRequest {
    let request = ChaincodeEventsRequest {
        channel_id: channel_id.to_owned(),
        chaincode_id: chaincode.to_owned(),
        identity: signer.creator().to_vec(),
        start_position: Some(start),
        after_transaction_id: after_tx_id.map(|id| id.0.clone()).unwrap_or_default(),
    }
    .encode_to_vec();
    SignedChaincodeEventsRequest {
        signature: signer.sign(&request),
        request,
    }
}

/// SHA-256 of a client's TLS certificate (its DER bytes), as a Deliver request under mutual
/// TLS carries it in `ChannelHeader.tls_cert_hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlsCertHash(pub [u8; 32]);

impl TlsCertHash {
    /// The hash of the DER-encoded certificate `der`.
    pub fn of_der(der: &[u8]) -> Self {
        TlsCertHash(Sha256::digest(der).into())
    }
}

/// The signed DELIVER_SEEK_INFO envelope that opens a Deliver stream (A.5).
///
/// `tls_cert_hash`: the hash of the client's TLS certificate when the connection uses mutual
/// TLS. A peer (or orderer) that requires client certificates binds each seek request to the
/// connection (Fabric's `common/deliver` `BindingInspector`, built with `mutualTLS =
/// UseTLS && RequireClientCert` in `internal/peer/node/start.go`): without the hash, or with
/// another certificate's, it answers BAD_REQUEST. fabric-gateway sets it likewise from its
/// `tlsClientCertificateHash` option (`BlockEventsBuilder`), in seek envelopes only.
pub fn seek_envelope(
    signer: &SigningIdentity,
    channel_id: &str,
    seek: &SeekInfo,
    tls_cert_hash: Option<&TlsCertHash>,
    nonce: [u8; NONCE_LEN],
    now: SystemTime,
) -> Envelope {
    let header = Header {
        channel_header: ChannelHeader {
            r#type: HeaderType::DeliverSeekInfo as i32,
            timestamp: Some(now.into()),
            channel_id: channel_id.to_owned(),
            tls_cert_hash: tls_cert_hash.map(|h| h.0.to_vec()).unwrap_or_default(),
            ..Default::default()
        }
        .encode_to_vec(),
        signature_header: SignatureHeader {
            creator: signer.creator().to_vec(),
            nonce: nonce.to_vec(),
        }
        .encode_to_vec(),
    };
    let payload = Payload {
        header: Some(header),
        data: seek.encode_to_vec(),
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload),
        payload,
    }
}
