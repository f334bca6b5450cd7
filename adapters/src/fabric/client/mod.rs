//! A client of a Fabric peer over gRPC and TLS (rustls, ring): the Gateway service (Evaluate,
//! Endorse, Submit, CommitStatus, ChaincodeEvents) and the Deliver service (full blocks from a
//! position). Every request is built and signed by [`super::request`] with the client's
//! [`SigningIdentity`]; gRPC failures become the crate's [`Error`], with the `gateway.ErrorDetail`s
//! of the status (one per peer that failed) in the message. Every call is counted in the
//! client's [`ChainMetrics`] (shared by its clones, so by every adapter built on one client):
//! its duration and whether it failed, by method class; a stream is one request, timed until it
//! opened, whose later break counts as its error.
//!
//! Under mutual TLS only the Deliver requests carry the hash of our TLS certificate: Fabric
//! binds Deliver seek envelopes to the connection (`common/deliver/deliver.go`
//! `validateChannelHeader` → `BindingInspector`), while its Gateway service checks none
//! (`internal/pkg/gateway`: Evaluate/Endorse pass the signed proposal to the endorsers,
//! CommitStatus and ChaincodeEvents check only the request's signature against the channel
//! ACL), and fabric-gateway sets `tls_cert_hash` in its block-event requests alone.

mod prepared;
mod status;
mod stream;

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use tonic::Status;
use tonic::transport::{Certificate as TlsCertificate, Channel, ClientTlsConfig, Endpoint};
use zeroize::Zeroizing;

use super::block::ValidationCode;
use super::identity::{SigningIdentity, TransactionId};
use super::proto::common::Envelope;
use super::proto::gateway::gateway_client::GatewayClient;
use super::proto::gateway::{EndorseRequest, EvaluateRequest, SubmitRequest};
use super::proto::orderer::seek_info::SeekBehavior;
use super::proto::orderer::seek_position::Type as SeekType;
use super::proto::orderer::{SeekInfo, SeekPosition, SeekSpecified};
use super::proto::protos::Response;
use super::proto::protos::deliver_client::DeliverClient;
use super::request::{self, Invocation, NONCE_LEN, TlsCertHash};
use crate::Error;
use crate::metrics::ChainMetrics;
pub use status::gateway_error;
use status::status_error;
pub use stream::{BlockStream, ChaincodeEventStream};

/// How long establishing the connection (TCP and TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest gRPC message a [`FabricClient`] sends or accepts by default: 100 MiB, above
/// Fabric's test-network `AbsoluteMaxBytes` (99 MB) plus the framing of a Deliver response.
/// tonic's own default (4 MiB) would stop a source for good at the first larger block.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 100 * 1024 * 1024;

/// The certificate and PKCS#8 key (both PEM) a client presents for mutual TLS.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The client's TLS certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// Its private key, PEM; wiped from memory when dropped.
    pub key_pem: Zeroizing<Vec<u8>>,
}

impl TlsIdentity {
    /// SHA-256 of the DER of the certificate presented in the handshake (the first of
    /// `cert_pem`): what Deliver requests carry under mutual TLS
    /// ([`request::seek_envelope`]).
    pub fn cert_hash(&self) -> Result<TlsCertHash, Error> {
        let not_pem = |reason: String| Error::Config {
            reason: format!("client TLS certificate: {reason}"),
        };
        let chain = x509_cert::Certificate::load_pem_chain(&self.cert_pem)
            .map_err(|e| not_pem(format!("not PEM X.509: {e}")))?;
        let leaf = chain
            .first()
            .ok_or_else(|| not_pem("no certificate in the PEM".to_owned()))?;
        // The DER decoder is strict, so re-encoding gives back the certificate's own bytes.
        let der = der::Encode::to_der(leaf).map_err(|e| not_pem(format!("DER: {e}")))?;
        Ok(TlsCertHash::of_der(&der))
    }
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem", &String::from_utf8_lossy(&self.cert_pem))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// How to authenticate the peer, and ourselves to it.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// The CA certificates (PEM) the peer's TLS certificate must chain to, e.g. the peer
    /// organisation's `tlscacerts/` ([`super::msp::MspFolder::tls_roots_pem`]).
    pub ca_pem: Vec<u8>,
    /// Our certificate and key, when the peer requires mutual TLS.
    pub client_identity: Option<TlsIdentity>,
    /// The name the peer's certificate must carry, when it is not the endpoint's host (e.g.
    /// `peer0.org1.example.com` reached through `127.0.0.1`).
    pub server_name: Option<String>,
}

/// A connected, cloneable handle on one peer's Gateway and Deliver services.
#[derive(Clone, Debug)]
pub struct FabricClient {
    endpoint: String,
    signer: SigningIdentity,
    tls_cert_hash: Option<TlsCertHash>,
    gateway: GatewayClient<Channel>,
    deliver: DeliverClient<Channel>,
    metrics: ChainMetrics,
}

/// The gRPC methods the client calls, as errors and [`ChainMetrics`] name them.
const EVALUATE: &str = "gateway.Gateway/Evaluate";
const ENDORSE: &str = "gateway.Gateway/Endorse";
const SUBMIT: &str = "gateway.Gateway/Submit";
const COMMIT_STATUS: &str = "gateway.Gateway/CommitStatus";
const CHAINCODE_EVENTS: &str = "gateway.Gateway/ChaincodeEvents";
pub(crate) const DELIVER: &str = "protos.Deliver/Deliver";

/// A transaction endorsed by the peer's gateway, ready for [`FabricClient::submit`].
#[derive(Clone, Debug)]
pub struct EndorsedTransaction {
    /// The transaction id.
    pub tx_id: TransactionId,
    /// The channel.
    pub channel_id: String,
    /// The unsigned prepared transaction the gateway assembled from the endorsements, as
    /// [`FabricClient::endorse`] checked it against our proposal.
    pub prepared: Envelope,
}

impl EndorsedTransaction {
    /// The chaincode's response in the endorsed transaction (fabric-gateway's
    /// `transactionparser.go`: the first action's `ChaincodeAction.response`): what the
    /// simulation returned, and what a VALID commit makes true.
    pub fn chaincode_response(&self) -> Result<Response, Error> {
        let bytes = prost::Message::encode_to_vec(&self.prepared);
        let tx = super::block::FabricTransaction::decode(0, &bytes)?;
        tx.actions
            .into_iter()
            .next()
            .and_then(|a| a.chaincode_action.response)
            .ok_or_else(|| Error::MissingData {
                what: format!("chaincode response of endorsed transaction {}", self.tx_id),
            })
    }
}

/// Where and how a submitted transaction was committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitStatus {
    /// The committer's validation code.
    pub code: ValidationCode,
    /// The block holding the transaction.
    pub block_number: u64,
}

impl FabricClient {
    /// Connects to `endpoint` (`https://host:port`) over TLS, authenticating as `signer` in
    /// every request. The peer's certificate must chain to `tls.ca_pem` and name
    /// `tls.server_name` (or the endpoint's host); otherwise the connection is refused with
    /// [`Error::RpcUnavailable`].
    pub async fn connect(
        endpoint: &str,
        tls: TlsConfig,
        signer: SigningIdentity,
    ) -> Result<Self, Error> {
        let cas =
            x509_cert::Certificate::load_pem_chain(&tls.ca_pem).map_err(|e| Error::Config {
                reason: format!("TLS CA certificates for {endpoint} are not PEM X.509: {e}"),
            })?;
        if cas.is_empty() {
            return Err(Error::Config {
                reason: format!("no TLS CA certificate configured for {endpoint}"),
            });
        }
        let mut config =
            ClientTlsConfig::new().ca_certificate(TlsCertificate::from_pem(&tls.ca_pem));
        let tls_cert_hash = tls
            .client_identity
            .as_ref()
            .map(TlsIdentity::cert_hash)
            .transpose()?;
        if let Some(identity) = &tls.client_identity {
            config = config.identity(tonic::transport::Identity::from_pem(
                &identity.cert_pem,
                identity.key_pem.as_slice(),
            ));
        }
        if let Some(name) = &tls.server_name {
            config = config.domain_name(name.clone());
        }
        let config_error = |e: tonic::transport::Error| Error::Config {
            reason: format!("Fabric endpoint {endpoint}: {}", chain(&e)),
        };
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(config_error)?
            .connect_timeout(CONNECT_TIMEOUT)
            .tls_config(config)
            .map_err(config_error)?
            .connect()
            .await
            .map_err(|e| Error::RpcUnavailable {
                endpoint: endpoint.to_owned(),
                source: format!("TLS connection failed: {}", chain(&e)).into(),
            })?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            signer,
            tls_cert_hash,
            gateway: GatewayClient::new(channel.clone()),
            deliver: DeliverClient::new(channel),
            metrics: ChainMetrics::default(),
        }
        .with_max_message_len(DEFAULT_MAX_MESSAGE_LEN))
    }

    /// Sets the largest gRPC message both services send and accept (default
    /// [`DEFAULT_MAX_MESSAGE_LEN`]); a block or response larger than this fails its call.
    pub fn with_max_message_len(mut self, bytes: usize) -> Self {
        self.gateway = self
            .gateway
            .max_decoding_message_size(bytes)
            .max_encoding_message_size(bytes);
        self.deliver = self
            .deliver
            .max_decoding_message_size(bytes)
            .max_encoding_message_size(bytes);
        self
    }

    /// Counts this client's requests (and its clones') in `metrics` instead of its own
    /// (share one per chain, as the EVM adapter's `RpcConfig::metrics`).
    pub fn with_metrics(mut self, metrics: ChainMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where this client's requests are counted.
    pub fn metrics(&self) -> &ChainMetrics {
        &self.metrics
    }

    /// Runs one gRPC call of `method`, counted: its duration, and failed when it ends in an
    /// error (every call of the client passes here).
    async fn counted<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let out = call.await;
        self.metrics
            .request(method, started.elapsed(), out.is_err());
        out.map_err(|s| self.rpc_error(method, s))
    }

    /// The peer's endpoint (`https://host:port`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The identity requests are signed with.
    pub fn signer(&self) -> &SigningIdentity {
        &self.signer
    }

    /// The hash of our TLS client certificate, under mutual TLS: every Deliver request
    /// carries it (a peer requiring client certificates refuses one that does not).
    pub fn tls_cert_hash(&self) -> Option<&TlsCertHash> {
        self.tls_cert_hash.as_ref()
    }

    /// Evaluates (queries) `invocation` on the peers of `target_orgs` (any peer if empty);
    /// returns the chaincode's response. Nothing is written to the ledger.
    pub async fn evaluate(
        &self,
        invocation: &Invocation,
        target_orgs: &[String],
    ) -> Result<Response, Error> {
        let proposed = request::propose(&self.signer, invocation, nonce(), SystemTime::now());
        let request = EvaluateRequest {
            transaction_id: proposed.tx_id.0,
            channel_id: invocation.channel_id.clone(),
            proposed_transaction: Some(proposed.signed_proposal),
            target_organizations: target_orgs.to_vec(),
        };
        let response = self
            .counted(EVALUATE, self.gateway.clone().evaluate(request))
            .await?;
        response
            .into_inner()
            .result
            .ok_or_else(|| Error::MissingData {
                what: "result of gateway.Gateway/Evaluate".to_owned(),
            })
    }

    /// Has `invocation` endorsed (by the peers of `endorsing_orgs`, or as the chaincode's
    /// policy requires if empty); returns the prepared transaction to [`Self::submit`].
    ///
    /// The gateway assembles that transaction, and we sign whatever it holds, so it is checked
    /// against our proposal first: same header (tx id, channel, chaincode, creator, nonce),
    /// exactly one action carrying our signature header and our chaincode proposal payload
    /// (function and arguments, without transient data), endorsed for our proposal's hash.
    /// Anything else is refused with [`Error::PreparedTransactionRefused`].
    pub async fn endorse(
        &self,
        invocation: &Invocation,
        endorsing_orgs: &[String],
    ) -> Result<EndorsedTransaction, Error> {
        self.endorse_with_nonce(invocation, endorsing_orgs, nonce())
            .await
    }

    /// [`Self::endorse`] with the proposal's `nonce` chosen by the caller, so the transaction
    /// id (SHA-256 of nonce and creator) is known before anything is sent and the same
    /// transaction can be proposed again: Fabric commits at most one transaction per id (a
    /// repeat is `DUPLICATE_TXID`, and endorsers refuse an id already committed). The nonce
    /// must be unpredictable to others only where replay matters; a dispatcher derives it from
    /// what it recorded, so a restart proposes the same transaction.
    pub async fn endorse_with_nonce(
        &self,
        invocation: &Invocation,
        endorsing_orgs: &[String],
        nonce: [u8; NONCE_LEN],
    ) -> Result<EndorsedTransaction, Error> {
        let proposed = request::propose(&self.signer, invocation, nonce, SystemTime::now());
        let request = EndorseRequest {
            transaction_id: proposed.tx_id.0.clone(),
            channel_id: invocation.channel_id.clone(),
            proposed_transaction: Some(proposed.signed_proposal.clone()),
            endorsing_organizations: endorsing_orgs.to_vec(),
        };
        let response = self
            .counted(ENDORSE, self.gateway.clone().endorse(request))
            .await?;
        let prepared =
            response
                .into_inner()
                .prepared_transaction
                .ok_or_else(|| Error::MissingData {
                    what: "prepared transaction of gateway.Gateway/Endorse".to_owned(),
                })?;
        prepared::check_prepared(&proposed.tx_id.0, &proposed.signed_proposal, &prepared).map_err(
            |reason| Error::PreparedTransactionRefused {
                endpoint: self.endpoint.clone(),
                reason: Box::new(reason),
            },
        )?;
        Ok(EndorsedTransaction {
            tx_id: proposed.tx_id,
            channel_id: invocation.channel_id.clone(),
            prepared,
        })
    }

    /// Signs the endorsed transaction and submits it for ordering. Returns once the orderer
    /// accepted it; [`Self::commit_status`] says when and how it was committed.
    pub async fn submit(&self, endorsed: &EndorsedTransaction) -> Result<(), Error> {
        let signed = self.sign(endorsed);
        self.submit_signed(endorsed, signed).await
    }

    /// The endorsed transaction signed by this client's identity, ready for ordering.
    pub fn sign(&self, endorsed: &EndorsedTransaction) -> Envelope {
        let mut prepared = endorsed.prepared.clone();
        request::sign_prepared(&self.signer, &mut prepared);
        prepared
    }

    /// Submits `prepared`, the [signed](Self::sign) `endorsed` transaction, for ordering.
    pub async fn submit_signed(
        &self,
        endorsed: &EndorsedTransaction,
        prepared: Envelope,
    ) -> Result<(), Error> {
        let request = SubmitRequest {
            transaction_id: endorsed.tx_id.0.clone(),
            channel_id: endorsed.channel_id.clone(),
            prepared_transaction: Some(prepared),
        };
        self.counted(SUBMIT, self.gateway.clone().submit(request))
            .await?;
        Ok(())
    }

    /// Waits until transaction `tx_id` of `channel_id` is committed; returns its validation
    /// code and block.
    pub async fn commit_status(
        &self,
        tx_id: &TransactionId,
        channel_id: &str,
    ) -> Result<CommitStatus, Error> {
        let signed = request::commit_status_request(&self.signer, tx_id, channel_id);
        let response = self
            .counted(COMMIT_STATUS, self.gateway.clone().commit_status(signed))
            .await?
            .into_inner();
        let code = u8::try_from(response.result).map_err(|_| Error::Decode {
            what: "validation code of gateway.Gateway/CommitStatus",
            reason: format!("{} is not a validation code", response.result),
        })?;
        Ok(CommitStatus {
            code: ValidationCode(code),
            block_number: response.block_number,
        })
    }

    /// Streams the events of `chaincode` on `channel_id` from block `from` (one item per
    /// block with events), skipping those up to and including `after_tx_id` in that block.
    pub async fn chaincode_events(
        &self,
        channel_id: &str,
        chaincode: &str,
        from: u64,
        after_tx_id: Option<&TransactionId>,
    ) -> Result<ChaincodeEventStream, Error> {
        let signed = request::chaincode_events_request(
            &self.signer,
            channel_id,
            chaincode,
            specified(from),
            after_tx_id,
        );
        let inner = self
            .counted(
                CHAINCODE_EVENTS,
                self.gateway.clone().chaincode_events(signed),
            )
            .await?
            .into_inner();
        Ok(ChaincodeEventStream::new(
            self.endpoint.clone(),
            inner,
            self.metrics.clone(),
        ))
    }

    /// Streams the full blocks of `channel_id` from number `from` on, in order, waiting for
    /// new ones (Deliver with a signed DELIVER_SEEK_INFO envelope, bound to our TLS client
    /// certificate under mutual TLS). The stream ends when the peer sends a SUCCESS status;
    /// any other status is an error.
    pub async fn deliver_blocks(&self, channel_id: &str, from: u64) -> Result<BlockStream, Error> {
        let seek = SeekInfo {
            start: Some(specified(from)),
            stop: Some(specified(u64::MAX)),
            behavior: SeekBehavior::BlockUntilReady as i32,
            ..Default::default()
        };
        let envelope = request::seek_envelope(
            &self.signer,
            channel_id,
            &seek,
            self.tls_cert_hash.as_ref(),
            nonce(),
            SystemTime::now(),
        );
        let inner = self
            .counted(
                DELIVER,
                self.deliver.clone().deliver(tokio_stream::once(envelope)),
            )
            .await?
            .into_inner();
        Ok(BlockStream::new(
            self.endpoint.clone(),
            inner,
            from,
            self.metrics.clone(),
        ))
    }

    /// The number of the newest block of `channel_id` (its height minus one): Deliver from
    /// the newest block to the newest, the block's header read, the stream dropped. For
    /// status reports; a source reads blocks with [`Self::deliver_blocks`].
    pub async fn newest_block_number(&self, channel_id: &str) -> Result<u64, Error> {
        let newest = || SeekPosition {
            r#type: Some(SeekType::Newest(Default::default())),
        };
        let seek = SeekInfo {
            start: Some(newest()),
            stop: Some(newest()),
            behavior: SeekBehavior::BlockUntilReady as i32,
            ..Default::default()
        };
        let envelope = request::seek_envelope(
            &self.signer,
            channel_id,
            &seek,
            self.tls_cert_hash.as_ref(),
            nonce(),
            SystemTime::now(),
        );
        let mut inner = self
            .counted(
                DELIVER,
                self.deliver.clone().deliver(tokio_stream::once(envelope)),
            )
            .await?
            .into_inner();
        use super::proto::protos::deliver_response::Type as DeliverType;
        match inner.message().await {
            Ok(Some(response)) => match response.r#type {
                Some(DeliverType::Block(block)) => {
                    let number = block
                        .header
                        .as_ref()
                        .map(|h| h.number)
                        .ok_or(Error::Decode {
                            what: "common.Block",
                            reason: "the newest block has no header".to_owned(),
                        })?;
                    self.metrics.head(number);
                    Ok(number)
                }
                Some(DeliverType::Status(code)) => Err(Error::Rpc {
                    endpoint: self.endpoint.clone(),
                    method: DELIVER,
                    code: i64::from(code),
                    message: format!(
                        "Deliver answered status {code} instead of the newest block of {channel_id}"
                    ),
                }),
                _ => Err(Error::Decode {
                    what: "protos.DeliverResponse",
                    reason: "neither a block nor a status".to_owned(),
                }),
            },
            Ok(None) => Err(Error::Decode {
                what: "protos.DeliverResponse",
                reason: "the stream ended before the newest block".to_owned(),
            }),
            Err(status) => Err(self.rpc_error(DELIVER, status)),
        }
    }

    fn rpc_error(&self, method: &'static str, status: Status) -> Error {
        status_error(&self.endpoint, method, status)
    }
}

/// An error and its sources, joined: tonic's top-level transport error says only "transport
/// error", the reason (e.g. rustls' "certificate not valid for name") is in its sources.
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

fn specified(number: u64) -> SeekPosition {
    SeekPosition {
        r#type: Some(SeekType::Specified(SeekSpecified { number })),
    }
}

fn nonce() -> [u8; NONCE_LEN] {
    rand::random()
}
