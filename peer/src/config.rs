//! [`PeerConfig`]: who this gateway is among the members, where it listens, how it reaches and
//! recognises each other member, and the protocol's bounds ([`Limits`]).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use causeway_proofs::EvmAddress;

use crate::error::{Error, Result};
use crate::tls::{MemberTrust, TlsIdentity};

/// Where a member's gateway serves the peer protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerEndpoint {
    host: String,
    port: u16,
}

impl PeerEndpoint {
    /// The gateway at `host` (a DNS name or an IP address, without brackets) and `port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        PeerEndpoint {
            host: host.into(),
            port,
        }
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl std::fmt::Display for PeerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One member of the consortium as the peer protocol sees it.
#[derive(Clone, Debug)]
pub struct MemberPeer {
    /// The member's name (`[[members]].name`).
    pub name: String,
    /// The only validator whose signatures this member's gateway may send.
    pub validator: EvmAddress,
    /// Where its gateway listens.
    pub endpoint: PeerEndpoint,
    /// How its gateway's certificate is recognised.
    pub trust: MemberTrust,
}

/// The bounds of the peer protocol. Defaults suit a consortium of a handful of members.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Largest gRPC message accepted, either way (a signed checkpoint is about 150 bytes; a
    /// subscription with a cursor per lane a few KiB).
    pub max_message_size: usize,
    /// Largest envelope served or fetched by `FetchEnvelope` (a private payload and its
    /// envelope header).
    pub max_envelope_size: usize,
    /// Most lanes one subscription may name.
    pub max_lanes_per_subscription: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_streams_per_connection: u32,
    /// Concurrent connections the server holds (all members together).
    pub max_connections: usize,
    /// Concurrent connections one member may hold.
    pub max_connections_per_member: usize,
    /// Time a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// Deadline of the client's TCP connect, TLS handshake and subscription request.
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive ping interval, both sides.
    pub keepalive_interval: Duration,
    /// Time to wait for a keepalive ping's answer before the connection is closed.
    pub keepalive_timeout: Duration,
    /// First reconnect delay of a client after a failure.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Signatures buffered per outgoing stream.
    pub stream_buffer: usize,
    /// Time connections get to close after shutdown before the server stops waiting.
    pub shutdown_grace: Duration,
    /// Signatures a second one member may stream per subscribed lane, sustained (a burst of
    /// ten seconds' worth); beyond, it is cut off as flooding. An honest
    /// member sends its own checkpoints (10 a second at most by default) and its
    /// co-signatures of the others'.
    pub signatures_per_lane_per_second: u32,
    /// Signatures a member may send again, identical, in one subscription before it is cut
    /// off as flooding (an honest member sends each once).
    pub max_repeated_signatures: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 4 * 1024,
            max_envelope_size: 1024 * 1024,
            max_lanes_per_subscription: 128,
            max_streams_per_connection: 4,
            max_connections: 64,
            max_connections_per_member: 4,
            handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(20),
            keepalive_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            stream_buffer: 64,
            shutdown_grace: Duration::from_secs(5),
            signatures_per_lane_per_second: 200,
            max_repeated_signatures: 64,
        }
    }
}

/// Everything the peer protocol needs to start. Build it with [`PeerConfig::new`] or, for a
/// gateway, [`PeerConfig::from_config`].
#[derive(Clone, Debug)]
pub struct PeerConfig {
    pub(crate) own: MemberPeer,
    pub(crate) others: Vec<MemberPeer>,
    pub(crate) listen: SocketAddr,
    pub(crate) identity: TlsIdentity,
    /// The protocol's bounds.
    pub limits: Limits,
}

impl PeerConfig {
    /// This gateway is `own` (a name among `members`), listens on `listen` and presents
    /// `identity`. Refuses members listed twice (by name or validator) and two members one
    /// certificate could stand for.
    pub fn new(
        own: &str,
        listen: SocketAddr,
        identity: TlsIdentity,
        members: Vec<MemberPeer>,
    ) -> Result<Self> {
        let mut names = HashSet::new();
        let mut validators = HashSet::new();
        for member in &members {
            if !names.insert(member.name.as_str()) || !validators.insert(member.validator) {
                return Err(Error::DuplicateMember {
                    name: member.name.clone(),
                });
            }
        }
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                if a.trust.same_identity(&b.trust) {
                    return Err(Error::DuplicateIdentity {
                        first: a.name.clone(),
                        second: b.name.clone(),
                    });
                }
            }
        }
        let (mine, others): (Vec<_>, Vec<_>) = members.into_iter().partition(|m| m.name == own);
        let mine = mine
            .into_iter()
            .next()
            .ok_or_else(|| Error::UnknownOwnMember {
                name: own.to_owned(),
            })?;
        Ok(PeerConfig {
            own: mine,
            others,
            listen,
            identity,
            limits: Limits::default(),
        })
    }

    /// The peer settings of a gateway's configuration: its organisation, `gateway.peer_listen`,
    /// `gateway.tls` (certificate chain and key files), and every member's `validator_address`,
    /// `peer_endpoint` and `tls` (CA file, server name, optional pinned certificate). Reads
    /// the certificate and key files (paths are absolute, key permissions already checked).
    pub fn from_config(config: &causeway_config::Config) -> Result<Self> {
        let gateway = config.gateway();
        let identity = TlsIdentity::from_pem_files(&gateway.tls.cert_file, &gateway.tls.key_file)?;
        let members = config
            .members()
            .iter()
            .map(|member| {
                let trust = MemberTrust::from_files(
                    &member.name,
                    &member.tls.ca_file,
                    &member.tls.server_name,
                    member.tls.cert_file.as_deref(),
                )?;
                let endpoint = &member.peer_endpoint;
                let host = endpoint
                    .host()
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                if host.is_empty() {
                    return Err(Error::InvalidEndpoint {
                        member: member.name.clone(),
                        endpoint: endpoint.to_string(),
                    });
                }
                Ok(MemberPeer {
                    name: member.name.clone(),
                    validator: member.validator_address,
                    // `https` is the only scheme the configuration accepts.
                    endpoint: PeerEndpoint::new(host, endpoint.port().unwrap_or(443)),
                    trust,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(
            &gateway.organisation,
            gateway.peer_listen,
            identity,
            members,
        )
    }

    /// With `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the server listens.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// This gateway's own member entry.
    pub fn own(&self) -> &MemberPeer {
        &self.own
    }

    /// The other members, in configuration order.
    pub fn others(&self) -> &[MemberPeer] {
        &self.others
    }
}
