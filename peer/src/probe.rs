//! [`probe`]: whether another member's gateway accepts this gateway now — a TCP connection and
//! a mutual-TLS handshake as this member, each within a deadline — for `causeway status`.

use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::PeerConfig;
use crate::tls::client_config;

/// How a probe of one member ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// TCP connected, the member's certificate is the one configured for it, and it accepted
    /// this gateway's certificate (it spoke HTTP/2 after the handshake).
    Accepted,
    /// Nothing accepted a TCP connection (the reason).
    Unreachable(String),
    /// Something listens, but the mutual-TLS handshake failed in either direction (the reason).
    Refused(String),
}

/// Probes `member` (a name among the configuration's other members) within `deadline` per
/// step; `None` when no other member has that name.
pub async fn probe(config: &PeerConfig, member: &str, deadline: Duration) -> Option<Probe> {
    let peer = config.others().iter().find(|m| m.name == member)?;
    let endpoint = &peer.endpoint;
    let tcp = match tokio::time::timeout(
        deadline,
        TcpStream::connect((endpoint.host(), endpoint.port())),
    )
    .await
    {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Some(Probe::Unreachable(e.to_string())),
        Err(_) => {
            return Some(Probe::Unreachable(format!(
                "no connection within {deadline:?}"
            )));
        }
    };
    let tls = match client_config(&config.identity, &peer.trust) {
        Ok(tls) => TlsConnector::from(tls),
        Err(e) => return Some(Probe::Refused(e.to_string())),
    };
    let mut stream =
        match tokio::time::timeout(deadline, tls.connect(peer.trust.server_name().clone(), tcp))
            .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Some(Probe::Refused(e.to_string())),
            Err(_) => return Some(Probe::Refused(format!("no handshake within {deadline:?}"))),
        };
    // In TLS 1.3 the server judges the client's certificate after the client's side of the
    // handshake is done: a refusal arrives as an alert on the first read, an acceptance as the
    // server's HTTP/2 preface.
    let mut first = [0u8; 1];
    Some(
        match tokio::time::timeout(deadline, stream.read(&mut first)).await {
            Ok(Ok(n)) if n > 0 => Probe::Accepted,
            Ok(Ok(_)) => {
                Probe::Refused("the member closed the connection after the handshake".into())
            }
            Ok(Err(e)) => Probe::Refused(e.to_string()),
            Err(_) => Probe::Refused(format!(
                "the member said nothing within {deadline:?} of the handshake"
            )),
        },
    )
}
