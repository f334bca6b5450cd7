//! Shared fixtures: a consortium of member gateways on loopback, each with a certificate from
//! the devnet test PKI, a validator key, a bound listener and fast limits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use causeway_devnet::pki::{ConsortiumCa, GatewayCert, GatewayCertSpec};
use causeway_peer::{
    Limits, MemberPeer, MemberTrust, Peer, PeerCollector, PeerConfig, PeerEndpoint, PeerHandle,
    PeerStatus, TlsIdentity,
};
use causeway_proofs::{
    Address32, Checkpoint, Domain, EvmAddress, Hash32, HashAlgorithm, LogSize, SigningDomain,
    ValidatorKey,
};
use causeway_relayer::pipeline::{PeerSignature, SignatureCollector, SignatureRequest};
use causeway_relayer::store::Lane;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The lanes of the tests.
pub const L1: Lane = Lane {
    origin: Domain(1),
    destination: Domain(2),
};
pub const L2: Lane = Lane {
    origin: Domain(3),
    destination: Domain(2),
};

/// Up to this long for anything to happen over loopback.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The signing domain of `lane` in these tests.
pub fn domain(lane: Lane) -> SigningDomain {
    SigningDomain {
        origin: lane.origin,
        origin_chain_id: u64::from(lane.origin.0) + 100,
        destination: lane.destination,
        destination_chain_id: u64::from(lane.destination.0) + 100,
        inbox: Address32([0x1b; 32]),
        validator_epoch: 1,
    }
}

/// A checkpoint of `lane` at `size` (the root depends on the size only).
pub fn checkpoint(lane: Lane, size: u64) -> Checkpoint {
    let mut root = [0xa5; 32];
    root[..8].copy_from_slice(&size.to_be_bytes());
    Checkpoint::new(
        lane.origin,
        HashAlgorithm::Sha256,
        LogSize(size),
        Hash32(root),
    )
    .expect("non-zero root")
}

/// The address `signature` recovers to on its lane.
pub fn signer_of(lane: Lane, signature: &PeerSignature) -> EvmAddress {
    causeway_proofs::attestation::recover(
        &signature.checkpoint.signing_digest(&domain(lane)),
        &signature.signature.signature,
        0,
    )
    .expect("a valid signature")
}

/// `collector` signs `lane` at `size`, as the attest stage would.
pub async fn sign(collector: &PeerCollector, lane: Lane, size: u64) {
    let request = SignatureRequest {
        checkpoint: checkpoint(lane, size),
        domain: domain(lane),
    };
    let own = collector.collect(&request).await.expect("signs");
    assert_eq!(own.len(), 1);
}

/// Fast limits for tests.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.backoff_initial = Duration::from_millis(50);
    limits.backoff_max = Duration::from_millis(400);
    limits.connect_timeout = Duration::from_secs(3);
    limits.handshake_timeout = Duration::from_secs(3);
    limits
}

/// The DNS name of member `name`'s gateway.
pub fn dns(name: &str) -> String {
    format!("{name}.causeway.test")
}

/// How the members' certificates are issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pki {
    /// One consortium CA for everyone (members told apart by name).
    Shared,
    /// Each member its own CA.
    PerMember,
}

/// One member of a test consortium.
pub struct Org {
    pub name: String,
    pub key_bytes: [u8; 32],
    pub validator: EvmAddress,
    pub ca: ConsortiumCa,
    pub cert: GatewayCert,
    pub address: SocketAddr,
    pub listener: Option<TcpListener>,
}

impl Org {
    pub fn identity(&self) -> TlsIdentity {
        TlsIdentity::from_pem(&self.cert.cert_pem, self.cert.key_pem.as_bytes())
            .expect("a valid identity")
    }

    pub fn validator_key(&self) -> ValidatorKey {
        ValidatorKey::from_bytes(&self.key_bytes).expect("valid key")
    }

    pub fn member(&self) -> MemberPeer {
        MemberPeer {
            name: self.name.clone(),
            validator: self.validator,
            endpoint: PeerEndpoint::new("127.0.0.1", self.address.port()),
            trust: MemberTrust::ca(&self.name, &self.ca.ca_pem(), &dns(&self.name))
                .expect("valid trust"),
        }
    }
}

/// A consortium on loopback.
pub struct Consortium {
    pub orgs: Vec<Org>,
    /// The limits every gateway started from here gets.
    pub limits: Limits,
}

impl Consortium {
    /// Members `names`, their listeners bound on free loopback ports.
    pub async fn new(names: &[&str], pki: Pki) -> Self {
        let shared = ConsortiumCa::new("consortium");
        let mut orgs = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let ca = match pki {
                Pki::Shared => shared.clone(),
                Pki::PerMember => ConsortiumCa::new(name),
            };
            let cert = ca
                .issue(&GatewayCertSpec::new(name, &dns(name)))
                .expect("issues");
            let key_bytes = [i as u8 + 0x21; 32];
            let validator = ValidatorKey::from_bytes(&key_bytes)
                .expect("valid key")
                .address();
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
            let address = listener.local_addr().expect("bound");
            orgs.push(Org {
                name: name.to_string(),
                key_bytes,
                validator,
                ca,
                cert,
                address,
                listener: Some(listener),
            });
        }
        Consortium {
            orgs,
            limits: limits(),
        }
    }

    pub fn org(&self, name: &str) -> &Org {
        self.orgs.iter().find(|o| o.name == name).expect("a member")
    }

    pub fn org_mut(&mut self, name: &str) -> &mut Org {
        self.orgs
            .iter_mut()
            .find(|o| o.name == name)
            .expect("a member")
    }

    /// `name`'s peer configuration with `identity` (its own unless a test says otherwise).
    pub fn config(&self, name: &str, identity: TlsIdentity) -> PeerConfig {
        let org = self.org(name);
        PeerConfig::new(
            name,
            org.address,
            identity,
            self.orgs.iter().map(Org::member).collect(),
        )
        .expect("a valid configuration")
        .with_limits(self.limits.clone())
    }

    /// Starts `name`'s gateway with its own identity and a fresh collector subscribed to
    /// `lanes`.
    pub async fn start(&mut self, name: &str, lanes: &[Lane]) -> Gateway {
        let collector = Arc::new(PeerCollector::new(self.org(name).validator_key()));
        self.start_with(name, collector, lanes).await
    }

    /// Starts `name`'s gateway with `collector`, subscribing `lanes` first.
    pub async fn start_with(
        &mut self,
        name: &str,
        collector: Arc<PeerCollector>,
        lanes: &[Lane],
    ) -> Gateway {
        let config = self.config(name, self.org(name).identity());
        let receivers = lanes
            .iter()
            .map(|lane| (*lane, collector.subscribe(*lane).expect("subscribes")))
            .collect();
        let listener = self.take_listener(name).await;
        let handle = Peer::start_with_listener(config, listener, collector.clone(), pending())
            .await
            .expect("starts");
        Gateway {
            collector,
            handle: Some(handle),
            receivers,
        }
    }

    /// `name`'s bound listener, or a new one on the same address (after a restart).
    pub async fn take_listener(&mut self, name: &str) -> TcpListener {
        let org = self.org_mut(name);
        match org.listener.take() {
            Some(listener) => listener,
            None => {
                // A listener just closed may take a moment to release the port.
                let deadline = tokio::time::Instant::now() + PATIENCE;
                loop {
                    match TcpListener::bind(org.address).await {
                        Ok(listener) => break listener,
                        Err(e) if tokio::time::Instant::now() < deadline => {
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("cannot bind {} again: {e}", org.address),
                    }
                }
            }
        }
    }
}

/// A shutdown future that never completes (tests stop through the handle).
pub fn pending() -> impl Future<Output = ()> + Send + 'static {
    std::future::pending()
}

/// A running test gateway.
pub struct Gateway {
    pub collector: Arc<PeerCollector>,
    pub handle: Option<PeerHandle>,
    pub receivers: Vec<(Lane, mpsc::Receiver<PeerSignature>)>,
}

impl Gateway {
    pub fn handle(&self) -> &PeerHandle {
        self.handle.as_ref().expect("running")
    }

    pub fn receiver(&mut self, lane: Lane) -> &mut mpsc::Receiver<PeerSignature> {
        &mut self
            .receivers
            .iter_mut()
            .find(|(l, _)| *l == lane)
            .expect("subscribed lane")
            .1
    }

    /// The next signature on `lane`, failing the test after [`PATIENCE`].
    pub async fn next(&mut self, lane: Lane) -> PeerSignature {
        tokio::time::timeout(PATIENCE, self.receiver(lane).recv())
            .await
            .unwrap_or_else(|_| panic!("no signature on {lane} within {PATIENCE:?}"))
            .expect("channel open")
    }

    /// Stops the peer service (the collector and lane channels stay).
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop().await.expect("stops cleanly");
        }
    }

    /// The link status to `member`.
    pub fn link(&self, member: &str) -> PeerStatus {
        self.handle()
            .peers()
            .into_iter()
            .find(|p| p.member == member)
            .expect("a member")
    }
}

/// Waits until `condition` holds, failing the test with `what` after [`PATIENCE`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
