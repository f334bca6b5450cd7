//! `FetchEnvelope`: how a recipient organisation's gateway gets the envelope of a private
//! message from a gateway that holds it.
//!
//! The server side asks an [`EnvelopeSource`] (the gateway's store) for the envelope and serves
//! it only when the authenticated member's privacy key is among the envelope's readers (an
//! original recipient, or a grantee whose grant is live, checked over the signed grant
//! history): the authorisation is decided here, on the bytes served, not by the source. The
//! client side, [`EnvelopeFetcher`], dials one member with this gateway's certificate, checks
//! the server is that member, and bounds the reply's size. Nothing fetched is trusted: the
//! caller opens it against the chain's commitment.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_privacy::{EnvelopeHeader, KeyId};
use causeway_proofs::MessageId;
use tokio_rustls::TlsConnector;
use tonic::Status;
use tonic::transport::Endpoint;

use crate::client::MemberConnector;
use crate::config::{Limits, MemberPeer, PeerConfig};
use crate::tls::client_config;
use crate::wire::proto;

/// What [`EnvelopeSource::envelope`] returns.
pub type EnvelopeFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>, String>> + Send + 'a>,
>;

/// Where the peer server finds envelopes (implemented by the gateway over its store).
pub trait EnvelopeSource: Send + Sync + 'static {
    /// The envelope of `id` as this gateway holds it, `Ok(None)` if it holds none; `Err` when
    /// it cannot answer now (its store is busy).
    fn envelope(&self, id: MessageId) -> EnvelopeFuture<'_>;

    /// The privacy key id of configured member `member`, `None` for a name it does not know.
    fn member_key(&self, member: &str) -> Option<KeyId>;
}

/// Decides a `FetchEnvelope` call: the envelope when `member` may read it.
pub(crate) async fn serve(
    source: &dyn EnvelopeSource,
    member: &str,
    request: &proto::FetchEnvelopeRequest,
) -> Result<proto::Envelope, Status> {
    let raw: [u8; 32] = request
        .message_id
        .as_slice()
        .try_into()
        .map_err(|_| Status::invalid_argument("message_id is not 32 bytes"))?;
    let id = MessageId(causeway_proofs::Hash32(raw));
    let Some(key) = source.member_key(member) else {
        return Err(Status::permission_denied(format!(
            "member {member} has no privacy key in this gateway's configuration"
        )));
    };
    let bytes = source
        .envelope(id)
        .await
        .map_err(Status::unavailable)?
        .ok_or_else(|| Status::not_found(format!("this gateway holds no envelope for {id}")))?;
    let header = EnvelopeHeader::read_from(bytes.as_slice())
        .map_err(|e| Status::internal(format!("the stored envelope does not parse: {e}")))?;
    // Grants count only through their signed history: a stored envelope whose history does not
    // verify is served to no one.
    header.verify_history().map_err(|e| {
        Status::internal(format!("the stored envelope's grants do not verify: {e}"))
    })?;
    if !header.readers().contains(&key) {
        return Err(Status::permission_denied(format!(
            "member {member} is not a reader of the envelope of {id} (not a recipient, and no \
             live grant)"
        )));
    }
    Ok(proto::Envelope {
        message_id: request.message_id.clone(),
        envelope: bytes,
    })
}

/// Why a fetch returned no envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The member refused: this gateway's member may not read the envelope.
    #[error("member {member} refused the envelope: {reason}")]
    Denied {
        /// The member asked.
        member: String,
        /// Its reason.
        reason: String,
    },
    /// No such member in the configuration.
    #[error("no member {member} is configured")]
    UnknownMember {
        /// The name asked for.
        member: String,
    },
    /// Connecting or the call failed (retry later).
    #[error("fetching from member {member} failed: {reason}")]
    Failed {
        /// The member asked.
        member: String,
        /// What failed.
        reason: String,
    },
}

/// Fetches envelopes from the other members (one channel per member, opened on first use and
/// reused).
#[derive(Clone)]
pub struct EnvelopeFetcher {
    members: Arc<HashMap<String, (MemberPeer, Arc<rustls::ClientConfig>)>>,
    channels: Arc<tokio::sync::Mutex<HashMap<String, tonic::transport::Channel>>>,
    limits: Limits,
}

impl core::fmt::Debug for EnvelopeFetcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EnvelopeFetcher")
            .field("members", &self.members.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl EnvelopeFetcher {
    /// A fetcher for the members of `config` other than this gateway's own.
    pub fn new(config: &PeerConfig) -> crate::Result<Self> {
        let mut members = HashMap::new();
        for m in &config.others {
            let tls = client_config(&config.identity, &m.trust)?;
            members.insert(m.name.clone(), (m.clone(), tls));
        }
        Ok(EnvelopeFetcher {
            members: Arc::new(members),
            channels: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
            limits: config.limits.clone(),
        })
    }

    /// The other members' names.
    pub fn members(&self) -> Vec<String> {
        let mut names: Vec<String> = self.members.keys().cloned().collect();
        names.sort();
        names
    }

    /// The limits calls are bounded by.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Drops `member`'s channel (a broken connection is dialled again on the next call).
    pub(crate) async fn forget(&self, member: &str) {
        self.channels.lock().await.remove(member);
    }

    /// The channel to `member`, dialled on first use.
    pub(crate) async fn channel(
        &self,
        member: &str,
    ) -> Result<tonic::transport::Channel, FetchError> {
        let mut channels = self.channels.lock().await;
        if let Some(c) = channels.get(member) {
            return Ok(c.clone());
        }
        let (peer, tls) = self
            .members
            .get(member)
            .ok_or_else(|| FetchError::UnknownMember {
                member: member.to_owned(),
            })?;
        let failed = |reason: String| FetchError::Failed {
            member: member.to_owned(),
            reason,
        };
        let endpoint = &peer.endpoint;
        let uri = Endpoint::from_shared(format!("http://{endpoint}"))
            .map_err(|e| failed(e.to_string()))?
            .connect_timeout(self.limits.connect_timeout)
            .timeout(self.limits.connect_timeout);
        let connector = MemberConnector {
            tls: TlsConnector::from(Arc::clone(tls)),
            server_name: peer.trust.server_name().clone(),
            host: endpoint.host().to_owned(),
            port: endpoint.port(),
        };
        let channel = tokio::time::timeout(
            self.limits.connect_timeout,
            uri.connect_with_connector(connector),
        )
        .await
        .map_err(|_| failed("no connection within the deadline".into()))?
        .map_err(|e| failed(crate::client::error_chain(&e)))?;
        channels.insert(member.to_owned(), channel.clone());
        Ok(channel)
    }

    /// The envelope of `id` from `member`: `Ok(None)` when it holds none.
    pub async fn fetch(&self, member: &str, id: MessageId) -> Result<Option<Vec<u8>>, FetchError> {
        let channel = self.channel(member).await?;
        let mut client = proto::peer_client::PeerClient::new(channel)
            .max_decoding_message_size(self.limits.max_envelope_size)
            .max_encoding_message_size(self.limits.max_message_size);
        let reply = client
            .fetch_envelope(proto::FetchEnvelopeRequest {
                message_id: id.0.0.to_vec(),
            })
            .await;
        match reply {
            Ok(r) => {
                let r = r.into_inner();
                if r.message_id != id.0.0 {
                    return Err(FetchError::Failed {
                        member: member.to_owned(),
                        reason: "the reply names another message".into(),
                    });
                }
                Ok(Some(r.envelope))
            }
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) if s.code() == tonic::Code::PermissionDenied => Err(FetchError::Denied {
                member: member.to_owned(),
                reason: s.message().to_owned(),
            }),
            Err(s) => {
                // A broken connection is dialled again next time.
                self.channels.lock().await.remove(member);
                Err(FetchError::Failed {
                    member: member.to_owned(),
                    reason: format!("{}: {}", s.code(), s.message()),
                })
            }
        }
    }
}
