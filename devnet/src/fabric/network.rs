//! [`FabricNetwork`]: start-up (organisations, TLS, genesis block, chaincodes), the tonic
//! server over rustls on a loopback port, stop and restart on the same port with the ledger
//! kept, accessors and fault hooks.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use causeway_adapters::fabric::{
    EndorsementPolicy, FabricBlock, FabricClient, SigningIdentity, TlsConfig, TlsIdentity,
    TrustedMsps,
};
use causeway_proofs::Domain;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::faults::{Fault, Faults};
use super::ledger::{BatchConfig, Ledger};
use super::org::{IdentityKind, ORDERER, ORG1, ORG2, ORG3, Org, OrgKind};
use super::peer::{FaultyEndorsers, Peer, PeerService, lock, orderer_queue, read, spawn_orderer};
use super::pki::{Ca, err};
use super::server::{PeerServices, bind};
use super::simulate::Chaincodes;
use crate::{Error, Result};
use causeway_chaincode::{
    Chaincode, INBOX_CHAINCODE, Inbox, NetworkInfo, OUTBOX_CHAINCODE, Outbox, RECIPIENT_CHAINCODE,
    Recipient,
};

/// The Causeway domain of the Fabric test network unless configured otherwise (the anvil
/// devnet's chains are domains 1 and 2).
pub const FABRIC_DOMAIN: Domain = Domain(3);

/// The chain id of the Fabric test network's channel unless configured otherwise: the
/// destination chain id of its inbox's signing domain, and the origin chain id an inbox
/// elsewhere is configured with for it. Fabric ledgers have none of their own; the consortium
/// configures one per channel (non-zero, unique among its Fabric chains), as `[chains.<name>]
/// chain_id` in the gateway configuration.
pub const FABRIC_CHAIN_ID: u64 = 2001;

/// The default channel name.
pub const DEFAULT_CHANNEL: &str = "causeway";

/// The peer's host name (in its TLS certificate beside `localhost` and `127.0.0.1`).
pub const PEER_HOST: &str = "peer0.org1.example.com";

/// How long [`FabricNetwork::stop`] lets open connections close before cutting them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Which TLS certificate the peer serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsServing {
    /// A certificate of the network's TLS CA ([`FabricNetwork::tls_ca_pem`]).
    #[default]
    NetworkCa,
    /// A certificate of another CA: clients trusting the network's TLS CA refuse it.
    OtherCa,
}

/// How to start a [`FabricNetwork`].
#[derive(Clone)]
pub struct FabricNetworkOptions {
    /// The channel name (default `causeway`).
    pub channel: String,
    /// The Causeway domain of the network (default [`FABRIC_DOMAIN`]).
    pub domain: Domain,
    /// The channel's configured chain id (default [`FABRIC_CHAIN_ID`]; 0 is refused at start).
    pub chain_id: u64,
    /// The loopback port to listen on (default: a free one).
    pub port: Option<u16>,
    /// Cut a block when this many transactions are pending (Fabric's default: 10).
    pub max_message_count: usize,
    /// Cut a block this long after its first transaction arrived (Fabric's default is 2 s;
    /// the test network's 50 ms).
    pub batch_timeout: Duration,
    /// Require clients to present a TLS certificate of the network's TLS CA.
    pub require_client_tls: bool,
    /// Which TLS certificate to serve.
    pub tls: TlsServing,
    /// The endorsement policy of every chaincode (default AND(Org1MSP, Org2MSP)).
    pub endorsement_policy: EndorsementPolicy,
    /// Chaincodes to install besides the built-in ones (a name already taken replaces it).
    pub chaincodes: Vec<(String, Arc<dyn Chaincode>)>,
}

impl std::fmt::Debug for FabricNetworkOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FabricNetworkOptions")
            .field("channel", &self.channel)
            .field("domain", &self.domain)
            .field("chain_id", &self.chain_id)
            .field("port", &self.port)
            .field("max_message_count", &self.max_message_count)
            .field("batch_timeout", &self.batch_timeout)
            .field("require_client_tls", &self.require_client_tls)
            .field("tls", &self.tls)
            .field("endorsement_policy", &self.endorsement_policy)
            .field(
                "chaincodes",
                &self.chaincodes.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for FabricNetworkOptions {
    fn default() -> Self {
        Self {
            channel: DEFAULT_CHANNEL.to_owned(),
            domain: FABRIC_DOMAIN,
            chain_id: FABRIC_CHAIN_ID,
            port: None,
            max_message_count: 10,
            batch_timeout: Duration::from_millis(50),
            require_client_tls: false,
            tls: TlsServing::NetworkCa,
            endorsement_policy: EndorsementPolicy::AllOf(vec![ORG1.to_owned(), ORG2.to_owned()]),
            chaincodes: Vec::new(),
        }
    }
}

/// A running server.
struct Running {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The Fabric test network: one peer (the gateway peer of Org1MSP, endorsing with the peers
/// of Org1MSP and Org2MSP) with an ordering service (OrdererMSP signs the blocks), serving
/// the Gateway and Deliver services over TLS on a loopback port. Dropping it stops the
/// server and removes its MSP folders.
pub struct FabricNetwork {
    peer: Arc<Peer>,
    orgs: BTreeMap<String, Org>,
    tls_ca: Ca,
    server_tls: TlsIdentity,
    rogue_server_tls: TlsIdentity,
    client_tls: TlsIdentity,
    tls_serving: Mutex<TlsServing>,
    require_client_tls: bool,
    port: u16,
    server: tokio::sync::Mutex<Option<Running>>,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for FabricNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FabricNetwork")
            .field("endpoint", &self.endpoint())
            .field("channel", &self.channel())
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl FabricNetwork {
    /// Generates the organisations, certificates and genesis block, installs the chaincodes
    /// and starts serving on `127.0.0.1`. Refuses a chain id of 0 (the default value, never
    /// trusted in a signing domain).
    pub async fn start(options: FabricNetworkOptions) -> Result<Self> {
        if options.chain_id == 0 {
            return Err(Error::Fabric {
                context: "starting the network",
                reason: "chain id 0 is never trusted: configure the channel's non-zero chain id"
                    .to_owned(),
            });
        }
        // tonic's server takes rustls' process-wide provider; two are compiled into the
        // workspace (ring, and aws-lc through alloy), so none is chosen unless we name one.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::Builder::new()
            .prefix("causeway-fabric-")
            .tempdir()
            .map_err(err("creating the network's directory"))?;
        let tls_ca = Ca::new("tlsca.example.com", "example.com")?;
        let rogue_tls_ca = Ca::new("tlsca.example.com", "example.com")?;
        let tls_pem = tls_ca.pem().to_vec();
        let mut orgs = BTreeMap::new();
        for (mspid, domain, kind) in [
            (ORG1, "org1.example.com", OrgKind::Peer),
            (ORG2, "org2.example.com", OrgKind::Peer),
            (ORG3, "org3.example.com", OrgKind::Peer),
            (ORDERER, "example.com", OrgKind::Orderer),
        ] {
            let org = Org::generate(mspid, domain, kind, dir.path(), &tls_pem)?;
            orgs.insert(mspid.to_owned(), org);
        }
        let org = |mspid: &str| orgs.get(mspid).expect("generated above");
        let faulty = FaultyEndorsers {
            org3: org(ORG3).node().clone(),
            expired_org2: org(ORG2).issue("peer0.org2.example.com", IdentityKind::Expired)?,
            other_ca_org2: org(ORG2).issue("peer0.org2.example.com", IdentityKind::OtherCa)?,
        };
        let localhost = [Ipv4Addr::LOCALHOST];
        let names = ["localhost", PEER_HOST];
        let server_tls = tls_ca.issue_tls(PEER_HOST, &names, &localhost)?;
        let rogue_server_tls = rogue_tls_ca.issue_tls(PEER_HOST, &names, &localhost)?;
        let client_tls = tls_ca.issue_tls("User1@org1.example.com", &[], &[])?;
        let ledger = Ledger::genesis(
            &options.channel,
            &[org(ORG1), org(ORG2)],
            org(ORDERER),
            &tls_pem,
            BatchConfig {
                max_message_count: u32::try_from(options.max_message_count).unwrap_or(u32::MAX),
                batch_timeout_ms: options.batch_timeout.as_millis(),
            },
        );
        let mut chaincodes = builtin_chaincodes();
        for (name, chaincode) in options.chaincodes {
            chaincodes.insert(name, chaincode);
        }
        let (queue, queue_rx) = orderer_queue();
        let peer = Arc::new(Peer {
            network: NetworkInfo {
                channel: options.channel.clone(),
                domain: options.domain,
                chain_id: options.chain_id,
                admin: org(ORG1).admin().identity().serialized().to_vec(),
            },
            channel_msps: TrustedMsps::new([org(ORG1).roots(), org(ORG2).roots()]),
            endorsers: [ORG1, ORG2]
                .iter()
                .map(|m| ((*m).to_owned(), org(m).node().clone()))
                .collect(),
            faulty,
            orderer: org(ORDERER).node().clone(),
            policy: options.endorsement_policy,
            chaincodes: RwLock::new(chaincodes),
            ledger: RwLock::new(ledger),
            faults: Mutex::new(Faults::default()),
            height: watch::Sender::new(1),
            generation: watch::Sender::new(0),
            orderer_queue: queue,
            address: format!("{PEER_HOST}:7051"),
            mutual_tls: options.require_client_tls,
        });
        spawn_orderer(
            Arc::downgrade(&peer),
            queue_rx,
            options.max_message_count.max(1),
            options.batch_timeout,
        );
        let listener = bind(options.port.unwrap_or(0)).await?;
        let port = listener
            .local_addr()
            .map_err(err("reading the peer's address"))?
            .port();
        let network = Self {
            peer,
            orgs,
            tls_ca,
            server_tls,
            rogue_server_tls,
            client_tls,
            tls_serving: Mutex::new(options.tls),
            require_client_tls: options.require_client_tls,
            port,
            server: tokio::sync::Mutex::new(None),
            dir,
        };
        let running = network.serve(listener)?;
        *network.server.lock().await = Some(running);
        Ok(network)
    }

    /// Starts the tonic server on `listener` with the TLS settings now in force.
    fn serve(&self, listener: TcpListener) -> Result<Running> {
        let tls = match *lock(&self.tls_serving) {
            TlsServing::NetworkCa => &self.server_tls,
            TlsServing::OtherCa => &self.rogue_server_tls,
        };
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(
            tls.cert_pem.clone(),
            tls.key_pem.clone(),
        ));
        if self.require_client_tls {
            config = config.client_ca_root(Certificate::from_pem(self.tls_ca.pem()));
        }
        let services = PeerServices::new(Arc::new(PeerService(self.peer.clone())));
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = Server::builder()
            .tls_config(config)
            .map_err(err("configuring the peer's TLS"))?
            .serve_with_incoming_shutdown(services, TcpListenerStream::new(listener), async {
                let _ = signal.await;
            });
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(Running { shutdown, task })
    }

    /// Stops serving: open streams end with UNAVAILABLE, connections close, the port is
    /// released. The ledger, world state and pending transactions are kept.
    pub async fn stop(&self) {
        let running = self.server.lock().await.take();
        self.peer.generation.send_modify(|g| *g += 1);
        if let Some(running) = running {
            let _ = running.shutdown.send(());
            let abort = running.task.abort_handle();
            if tokio::time::timeout(STOP_GRACE, running.task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Stops (if running) and serves again on the same port, with the ledger kept.
    pub async fn restart(&self) -> Result<()> {
        self.stop().await;
        let listener = bind(self.port).await?;
        let running = self.serve(listener)?;
        *self.server.lock().await = Some(running);
        Ok(())
    }

    /// `https://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The port the peer listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The network's TLS CA certificate (PEM): what clients trust for the peer.
    pub fn tls_ca_pem(&self) -> &[u8] {
        self.tls_ca.pem()
    }

    /// A client TLS certificate and key of the network's TLS CA (for mutual TLS).
    pub fn client_tls_identity(&self) -> TlsIdentity {
        self.client_tls.clone()
    }

    /// The TLS settings a client of this network uses (the TLS CA, and a client certificate
    /// when the network requires mutual TLS).
    pub fn tls_config(&self) -> TlsConfig {
        TlsConfig {
            ca_pem: self.tls_ca.pem().to_vec(),
            client_identity: self.require_client_tls.then(|| self.client_tls.clone()),
            server_name: None,
        }
    }

    /// Connects a [`FabricClient`] as `signer`.
    pub async fn connect(&self, signer: SigningIdentity) -> Result<FabricClient> {
        FabricClient::connect(&self.endpoint(), self.tls_config(), signer)
            .await
            .map_err(err("connecting a client"))
    }

    /// Connects a [`FabricClient`] as the user of `mspid`.
    pub async fn client(&self, mspid: &str) -> Result<FabricClient> {
        self.connect(self.client_identity(mspid)).await
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.peer.network.channel
    }

    /// The network's Causeway domain.
    pub fn domain(&self) -> Domain {
        self.peer.network.domain
    }

    /// The channel's configured chain id (what signing domains name this ledger by).
    pub fn chain_id(&self) -> u64 {
        self.peer.network.chain_id
    }

    /// Organisation `mspid` (`Org1MSP`, `Org2MSP`, `Org3MSP` outside the channel, or
    /// `OrdererMSP`). Panics for any other MSP id.
    pub fn org(&self, mspid: &str) -> &Org {
        self.orgs
            .get(mspid)
            .unwrap_or_else(|| panic!("the test network has no organisation {mspid}"))
    }

    /// The user identity (`User1`) of `mspid`.
    pub fn client_identity(&self, mspid: &str) -> SigningIdentity {
        self.org(mspid).user().clone()
    }

    /// The inbox admin: Org1MSP's admin identity.
    pub fn admin_identity(&self) -> SigningIdentity {
        self.org(ORG1).admin().clone()
    }

    /// A new identity of `mspid` with the kind of certificate asked for (expired, or from a
    /// CA outside the organisation, for rejection tests).
    pub fn issue_identity(&self, mspid: &str, kind: IdentityKind) -> Result<SigningIdentity> {
        let cn = format!("User{}@{}", rand_suffix(), self.org(mspid).domain());
        self.org(mspid).issue(&cn, kind)
    }

    /// The roots of the channel's organisations (Org1MSP, Org2MSP): what a verifier trusts for
    /// creators and endorsers.
    pub fn trusted_msps(&self) -> TrustedMsps {
        self.peer.channel_msps.clone()
    }

    /// The roots of the ordering service (OrdererMSP): what a verifier trusts for block
    /// signatures.
    pub fn orderer_msps(&self) -> TrustedMsps {
        TrustedMsps::new([self.org(ORDERER).roots()])
    }

    /// The endorsement policy of the chaincodes.
    pub fn endorsement_policy(&self) -> EndorsementPolicy {
        self.peer.policy.clone()
    }

    /// The number of blocks (the genesis block included).
    pub fn height(&self) -> u64 {
        read(&self.peer.ledger).height()
    }

    /// Block `number`, if it exists.
    pub fn block(&self, number: u64) -> Option<FabricBlock> {
        read(&self.peer.ledger).block(number).cloned()
    }

    /// Waits until the ledger has at least `height` blocks, for at most `timeout`.
    pub async fn wait_for_height(&self, height: u64, timeout: Duration) -> Result<()> {
        let mut rx = self.peer.height.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|h| *h >= height)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Error::Fabric {
                context: "waiting for blocks",
                reason: format!(
                    "height {} after {timeout:?}, expected {height}",
                    self.height()
                ),
            }),
        }
    }

    /// The committed value of `key` in chaincode `chaincode`'s namespace.
    pub fn state(&self, chaincode: &str, key: &str) -> Option<Vec<u8>> {
        read(&self.peer.ledger)
            .world
            .get(&(chaincode.to_owned(), key.to_owned()))
            .map(|(value, _)| value.clone())
    }

    /// Installs (or replaces) chaincode `name`.
    pub fn register_chaincode(&self, name: &str, chaincode: Arc<dyn Chaincode>) {
        super::peer::write(&self.peer.chaincodes).insert(name.to_owned(), chaincode);
    }

    /// The names of the installed chaincodes.
    pub fn chaincode_names(&self) -> Vec<String> {
        read(&self.peer.chaincodes).keys().cloned().collect()
    }

    /// Arms a fault for the next transaction or block (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        lock(&self.peer.faults).inject(fault);
    }

    /// Chooses the TLS certificate served from the next [`Self::restart`] on.
    pub fn set_tls_serving(&self, tls: TlsServing) {
        *lock(&self.tls_serving) = tls;
    }
}

impl Drop for FabricNetwork {
    fn drop(&mut self) {
        self.peer.generation.send_modify(|g| *g += 1);
        if let Some(running) = self.server.get_mut().take() {
            let _ = running.shutdown.send(());
        }
    }
}

/// The chaincodes every network installs.
fn builtin_chaincodes() -> Chaincodes {
    let mut chaincodes = Chaincodes::new();
    chaincodes.insert(OUTBOX_CHAINCODE.to_owned(), Arc::new(Outbox));
    chaincodes.insert(INBOX_CHAINCODE.to_owned(), Arc::new(Inbox));
    chaincodes.insert(RECIPIENT_CHAINCODE.to_owned(), Arc::new(Recipient));
    chaincodes
}

/// A short random suffix for the names of issued identities.
fn rand_suffix() -> String {
    hex::encode(super::pki::random_bytes::<4>())
}
