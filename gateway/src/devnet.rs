//! A local consortium on one machine, for `causeway devnet` and the multi-process tests: one
//! folder per member organisation with everything `causeway run` needs — its validator key (one
//! of a [`Committee`]'s, so the chains' Inboxes know it), a fresh privacy key, a mutual-TLS
//! certificate from a consortium CA ([`ConsortiumCa`]) that names the member, signer keys of
//! anvil dev accounts (one account per member, so their nonces never collide) and a
//! configuration naming every member, chain and lane. Built only with the `devnet` feature.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use causeway_devnet::DevChain;
use causeway_devnet::fabric::{FabricNetwork, ORDERER, ORG1, ORG2, OUTBOX_CHAINCODE};
use causeway_devnet::fisco::{FiscoContracts, FiscoNode};
use causeway_devnet::fixtures::Committee;
use causeway_devnet::pki::{ConsortiumCa, GatewayCertSpec};
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::files::write_secret_file;

/// One member organisation's folder.
#[derive(Clone, Debug)]
pub struct MemberFolder {
    /// Its name in the configuration (`org1`, `org2`, …).
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
}

impl MemberFolder {
    /// Its configuration file.
    pub fn config(&self) -> PathBuf {
        self.dir.join("causeway.toml")
    }

    /// Its store (SQLite, the default beside the configuration).
    pub fn store(&self) -> PathBuf {
        self.dir.join("causeway.sqlite")
    }

    /// Where its gateway's log goes.
    pub fn log(&self) -> PathBuf {
        self.dir.join("gateway.log")
    }
}

/// An EVM chain of the local consortium and its name in the configurations.
#[derive(Clone, Copy, Debug)]
pub struct LocalChain<'a> {
    /// Its name (`[chains.<name>]`).
    pub name: &'a str,
    /// The running chain.
    pub chain: &'a DevChain,
}

/// An EVM chain entry of the members' configurations, by its facts: a running [`LocalChain`],
/// or a chain the gateways never reach (the pipeline benchmark runs them on in-memory chains
/// with these domains, chain ids and contract addresses).
#[derive(Clone, Debug)]
pub struct ChainEntry {
    /// Its name (`[chains.<name>]`).
    pub name: String,
    /// Its domain.
    pub domain: u32,
    /// Its EIP-155 chain id.
    pub chain_id: u64,
    /// Its JSON-RPC endpoint.
    pub endpoint: String,
    /// Its Outbox's address (0x-hex).
    pub outbox: String,
    /// Its Inbox's address (0x-hex).
    pub inbox: String,
    /// Member `i`'s delivery signer key (secp256k1 secret) on it.
    pub signers: Vec<Zeroizing<[u8; 32]>>,
}

impl ChainEntry {
    /// The entry of a running local chain: member `i` signs deliveries with anvil dev account
    /// `layout.first_signer + i` (one account per member, so their nonces never collide).
    pub fn of_local(local: &LocalChain<'_>, members: usize, layout: &Layout) -> Result<Self> {
        let c = local.chain;
        let signers = (0..members)
            .map(|i| {
                let key = c
                    .node
                    .dev_keys()
                    .get(layout.first_signer + i)
                    .with_context(|| {
                        format!("anvil has no dev account {}", layout.first_signer + i)
                    })?
                    .to_bytes();
                Ok(Zeroizing::new(key.0))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ChainEntry {
            name: local.name.to_owned(),
            domain: c.spec.domain.0,
            chain_id: c.spec.chain_id,
            endpoint: c.node.endpoint(),
            outbox: c.outbox.address().to_string(),
            inbox: c.inbox.address().to_string(),
            signers,
        })
    }
}

/// An anchoring of the local consortium (`[anchors.<name>]`): `origin`'s log on the Anchor of
/// the EVM chain `chain`.
#[derive(Clone, Debug)]
pub struct AnchorEntry {
    /// Its name.
    pub name: String,
    /// The anchored chain's name.
    pub origin: String,
    /// The EVM chain the Anchor runs on (its entry gets `anchor = "<address>"`).
    pub chain: String,
    /// The Anchor's address (0x-hex), with the committee installed for the origin.
    pub anchor: String,
    /// `every_secs`.
    pub every_secs: u64,
    /// `takeover_secs`.
    pub takeover_secs: u64,
    /// Member `i`'s anchoring key (secp256k1 secret) on the chain.
    pub keys: Vec<Zeroizing<[u8; 32]>>,
}

impl AnchorEntry {
    /// `origin` anchored on the running `chain`'s Anchor at `anchor`: member `i` sends from anvil
    /// dev account `first_key + i` (accounts no other role of the devnet uses).
    pub fn of_local(
        origin: &str,
        chain: &LocalChain<'_>,
        anchor: alloy::primitives::Address,
        members: usize,
        first_key: usize,
    ) -> Result<Self> {
        let keys = (0..members)
            .map(|i| {
                let key = chain
                    .chain
                    .node
                    .dev_keys()
                    .get(first_key + i)
                    .with_context(|| format!("anvil has no dev account {}", first_key + i))?
                    .to_bytes();
                Ok(Zeroizing::new(key.0))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AnchorEntry {
            name: format!("{origin}-on-{}", chain.name),
            origin: origin.to_owned(),
            chain: chain.name.to_owned(),
            anchor: anchor.to_string(),
            every_secs: 5,
            takeover_secs: 10,
            keys,
        })
    }
}

/// A FISCO BCOS group of the local consortium, by its facts.
#[derive(Clone, Debug)]
pub struct FiscoEntry {
    /// Its name (`[chains.<name>]`).
    pub name: String,
    /// Its domain.
    pub domain: u32,
    /// The chain id (`chain0`).
    pub chain_id: String,
    /// The group (`group0`).
    pub group: String,
    /// `"ecdsa"` or `"sm"`.
    pub crypto: &'static str,
    /// The sealers' node ids (hex).
    pub sealers: Vec<String>,
    /// `block.chainid` in its EVM (the group's `web3_chain_id`).
    pub web3_chain_id: u64,
    /// Its JSON-RPC endpoint.
    pub endpoint: String,
    /// Its Outbox's address (0x-hex).
    pub outbox: String,
    /// Its Inbox's address (0x-hex).
    pub inbox: String,
    /// Member `i`'s delivery signer key (of the chain's crypto mode) on it.
    pub signers: Vec<Zeroizing<[u8; 32]>>,
}

impl FiscoEntry {
    /// The entry of the FISCO BCOS test node `node` with `contracts`: each of `members` signs
    /// deliveries with a new account of the chain's mode (FISCO BCOS needs no funds for gas).
    pub fn of_node(
        name: &str,
        domain: u32,
        node: &FiscoNode,
        contracts: &FiscoContracts,
        members: usize,
    ) -> Self {
        let mode = node.mode();
        FiscoEntry {
            name: name.to_owned(),
            domain,
            chain_id: node.chain_id().to_owned(),
            group: node.group().to_owned(),
            crypto: match mode {
                causeway_proofs::fisco::CryptoMode::Sm => "sm",
                _ => "ecdsa",
            },
            sealers: node.sealer_keys().iter().map(|k| k.to_hex()).collect(),
            web3_chain_id: node.web3_chain_id(),
            endpoint: node.endpoint(),
            outbox: contracts.outbox.to_string(),
            inbox: contracts.inbox.to_string(),
            signers: (0..members)
                .map(|_| {
                    let key = causeway_proofs::fisco::NodeSecret::generate(mode, &mut OsRng);
                    Zeroizing::new(*key.secret_bytes())
                })
                .collect(),
        }
    }

    /// Its `[chains.<name>]` entry (signing with `keys/<name>-signer.key`).
    fn toml(&self) -> String {
        let sealers: Vec<String> = self.sealers.iter().map(|s| format!("\"{s}\"")).collect();
        format!(
            r#"
[chains.{name}]
domain = {domain}
family = "fisco"
chain_id = "{chain_id}"
group = "{group}"
crypto = "{crypto}"
sealers = [{sealers}]
web3_chain_id = {web3}
endpoints = ["{endpoint}"]
finality = "on-commit"
outbox = "{outbox}"
inbox = "{inbox}"
signer_key_files = ["keys/{name}-signer.key"]
"#,
            name = self.name,
            domain = self.domain,
            chain_id = self.chain_id,
            group = self.group,
            crypto = self.crypto,
            sealers = sealers.join(", "),
            web3 = self.web3_chain_id,
            endpoint = self.endpoint,
            outbox = self.outbox,
            inbox = self.inbox,
        )
    }
}

/// The Fabric test network's channel as a chain of the local consortium.
#[derive(Clone, Copy, Debug)]
pub struct LocalFabric<'a> {
    /// Its name (`[chains.<name>]`).
    pub name: &'a str,
    /// The running test network.
    pub net: &'a FabricNetwork,
    /// The inbox chaincode deliveries go to.
    pub inbox_chaincode: &'a str,
}

/// How the members' gateways are set up.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// `[relayer] batch_size`.
    pub batch_size: usize,
    /// `[relayer] delivery_grace_ms`.
    pub delivery_grace_ms: u64,
    /// `[relayer] poll_interval_ms`.
    pub poll_interval_ms: u64,
    /// Member `i` signs deliveries with anvil dev account `first_signer + i`.
    pub first_signer: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            batch_size: 32,
            delivery_grace_ms: 2000,
            poll_interval_ms: 100,
            first_signer: 5,
        }
    }
}

/// A free loopback port for a member's listener, below the system's ephemeral range and never
/// one this process handed out before ([`causeway_devnet::free_port`]: two members' listeners
/// on one port, or a client connection's source port taking a listener's, fail the devnet at
/// start with "Address already in use").
pub fn free_port() -> Result<u16> {
    causeway_devnet::free_port().context("while looking for a free loopback port")
}

/// Writes one folder per member of `committee` (member `i` holds key `i` only) under `dir`,
/// each with a configuration naming every member, the EVM `chains`, the Fabric channel `fabric`
/// (every member submits as the network's Org1 client) and the `lanes` (origin, destination
/// chain names), each `committee.threshold()` of the members. The destinations must already hold
/// the committee for each lane's origin ([`Committee::install`], the inbox chaincode's
/// `setValidators`).
pub fn write_members(
    dir: &Path,
    committee: &Committee,
    chains: &[LocalChain<'_>],
    fabric: Option<LocalFabric<'_>>,
    lanes: &[(&str, &str)],
    layout: &Layout,
) -> Result<Vec<MemberFolder>> {
    let n = committee.keys().len();
    let entries = chains
        .iter()
        .map(|c| ChainEntry::of_local(c, n, layout))
        .collect::<Result<Vec<_>>>()?;
    write_member_folders(dir, committee, &entries, fabric, lanes, layout)
}

/// [`write_members`] with FISCO BCOS groups too.
pub fn write_members_with_fisco(
    dir: &Path,
    committee: &Committee,
    chains: &[LocalChain<'_>],
    fabric: Option<LocalFabric<'_>>,
    fisco: &[FiscoEntry],
    lanes: &[(&str, &str)],
    layout: &Layout,
) -> Result<Vec<MemberFolder>> {
    let n = committee.keys().len();
    let entries = chains
        .iter()
        .map(|c| ChainEntry::of_local(c, n, layout))
        .collect::<Result<Vec<_>>>()?;
    write_consortium(dir, committee, &entries, fabric, fisco, lanes, layout)
}

/// [`write_members`] for EVM chains given by their facts.
pub fn write_member_folders(
    dir: &Path,
    committee: &Committee,
    chains: &[ChainEntry],
    fabric: Option<LocalFabric<'_>>,
    lanes: &[(&str, &str)],
    layout: &Layout,
) -> Result<Vec<MemberFolder>> {
    write_consortium(dir, committee, chains, fabric, &[], lanes, layout)
}

/// [`write_member_folders`] with FISCO BCOS groups too.
pub fn write_consortium(
    dir: &Path,
    committee: &Committee,
    chains: &[ChainEntry],
    fabric: Option<LocalFabric<'_>>,
    fisco: &[FiscoEntry],
    lanes: &[(&str, &str)],
    layout: &Layout,
) -> Result<Vec<MemberFolder>> {
    write_anchored_consortium(dir, committee, chains, fabric, fisco, lanes, &[], layout)
}

/// [`write_members_with_fisco`] with anchorings too (the Anchors must hold the committee for
/// each anchored origin).
#[allow(clippy::too_many_arguments)]
pub fn write_anchored_members(
    dir: &Path,
    committee: &Committee,
    chains: &[LocalChain<'_>],
    fabric: Option<LocalFabric<'_>>,
    fisco: &[FiscoEntry],
    lanes: &[(&str, &str)],
    anchors: &[AnchorEntry],
    layout: &Layout,
) -> Result<Vec<MemberFolder>> {
    let n = committee.keys().len();
    let entries = chains
        .iter()
        .map(|c| ChainEntry::of_local(c, n, layout))
        .collect::<Result<Vec<_>>>()?;
    write_anchored_consortium(
        dir, committee, &entries, fabric, fisco, lanes, anchors, layout,
    )
}

/// [`write_consortium`] with anchorings too.
#[allow(clippy::too_many_arguments)]
pub fn write_anchored_consortium(
    dir: &Path,
    committee: &Committee,
    chains: &[ChainEntry],
    fabric: Option<LocalFabric<'_>>,
    fisco: &[FiscoEntry],
    lanes: &[(&str, &str)],
    anchors: &[AnchorEntry],
    layout: &Layout,
) -> Result<Vec<MemberFolder>> {
    let n = committee.keys().len();
    let ca = ConsortiumCa::new("Causeway devnet consortium");
    let ports = (0..n).map(|_| free_port()).collect::<Result<Vec<_>>>()?;
    let mut members = Vec::with_capacity(n);
    let mut entries = String::new();
    for (i, key) in committee.keys().iter().enumerate() {
        let name = format!("org{}", i + 1);
        let folder = dir.join(&name);
        for sub in ["keys", "tls"] {
            std::fs::create_dir_all(folder.join(sub))
                .with_context(|| format!("while creating {}", folder.join(sub).display()))?;
        }
        let secret = Zeroizing::new(format!("0x{}\n", hex::encode(*key.secret_bytes())));
        write_secret_file(&folder.join("keys/validator.key"), secret.as_bytes())?;
        let privacy = causeway_privacy::keys::KeyPair::generate();
        privacy.write_to_file(&folder.join("keys/privacy.key"))?;
        let signers = chains
            .iter()
            .map(|c| (&c.name, &c.signers))
            .chain(fisco.iter().map(|c| (&c.name, &c.signers)));
        for (chain, keys) in signers {
            let signer = keys
                .get(i)
                .with_context(|| format!("chain {chain} has no signer key for member {i}"))?;
            let text = Zeroizing::new(format!("0x{}\n", hex::encode(**signer)));
            write_secret_file(
                &folder.join(format!("keys/{chain}-signer.key")),
                text.as_bytes(),
            )?;
        }
        for anchor in anchors {
            let key = anchor
                .keys
                .get(i)
                .with_context(|| format!("anchoring {} has no key for member {i}", anchor.name))?;
            let text = Zeroizing::new(format!("0x{}\n", hex::encode(**key)));
            write_secret_file(
                &folder.join(format!("keys/{}-anchor.key", anchor.name)),
                text.as_bytes(),
            )?;
        }
        if let Some(fabric) = fabric {
            write_fabric_files(&folder, fabric.net)?;
        }
        let server_name = format!("{name}.causeway.test");
        let cert = ca.issue(&GatewayCertSpec::new(&name, &server_name))?;
        cert.write(&folder.join("tls"), "gateway")?;
        ca.write_ca(&folder.join("tls/consortium-ca.crt"))?;
        entries += &format!(
            r#"
[[members]]
name = "{name}"
validator_address = "{address}"
privacy_public_key = "{privacy}"
peer_endpoint = "https://localhost:{port}"
tls = {{ ca_file = "tls/consortium-ca.crt", server_name = "{server_name}" }}
"#,
            address = key.address(),
            privacy = privacy.public_key().to_base64(),
            port = ports[i],
        );
        members.push(MemberFolder { name, dir: folder });
    }
    let mut shared = entries;
    for c in chains {
        shared += &format!(
            r#"
[chains.{name}]
domain = {domain}
family = "evm"
chain_id = {chain_id}
endpoints = ["{endpoint}"]
finality = {{ confirmations = 1 }}
outbox = "{outbox}"
inbox = "{inbox}"
signer_key_files = ["keys/{name}-signer.key"]
"#,
            name = c.name,
            domain = c.domain,
            chain_id = c.chain_id,
            endpoint = c.endpoint,
            outbox = c.outbox,
            inbox = c.inbox,
        );
        if let Some(anchor) = anchors.iter().find(|a| a.chain == c.name) {
            shared += &format!("anchor = \"{}\"\n", anchor.anchor);
        }
    }
    if let Some(fabric) = fabric {
        shared += &fabric_toml(fabric);
    }
    for f in fisco {
        shared += &f.toml();
    }
    let validators = members
        .iter()
        .map(|m| format!("\"{}\"", m.name))
        .collect::<Vec<_>>()
        .join(", ");
    for (o, d) in lanes {
        shared += &format!(
            r#"
[lanes.{o}-to-{d}]
origin = "{o}"
destination = "{d}"
validators = [{validators}]
threshold = {threshold}
"#,
            threshold = committee.threshold(),
        );
    }
    for a in anchors {
        shared += &format!(
            r#"
[anchors.{name}]
origin = "{origin}"
chain = "{chain}"
validators = [{validators}]
threshold = {threshold}
every_secs = {every}
key_file = "keys/{name}-anchor.key"
takeover_secs = {takeover}
"#,
            name = a.name,
            origin = a.origin,
            chain = a.chain,
            threshold = committee.threshold(),
            every = a.every_secs,
            takeover = a.takeover_secs,
        );
    }
    for (i, member) in members.iter().enumerate() {
        let toml = format!(
            r#"# A member gateway of the local consortium `causeway devnet` started.
[gateway]
organisation = "{name}"
validator_key_file = "keys/validator.key"
privacy_key_file = "keys/privacy.key"
peer_listen = "127.0.0.1:{port}"
tls = {{ cert_file = "tls/gateway.crt", key_file = "tls/gateway.key" }}

[api]
listen = "127.0.0.1:{api}"

[monitoring]
listen = "127.0.0.1:{metrics}"

[relayer]
batch_size = {batch}
delivery_grace_ms = {grace}
poll_interval_ms = {poll}
{shared}"#,
            name = member.name,
            port = ports[i],
            api = free_port()?,
            metrics = free_port()?,
            batch = layout.batch_size,
            grace = layout.delivery_grace_ms,
            poll = layout.poll_interval_ms,
        );
        std::fs::write(member.config(), toml)
            .with_context(|| format!("while writing {}", member.config().display()))?;
    }
    Ok(members)
}

/// Copies what a member needs of the Fabric test network into `folder/fabric/`: the
/// organisations' root CA certificates, the Org1 client's certificate and key (its signer key,
/// 0600) and the peer's TLS CA.
fn write_fabric_files(folder: &Path, net: &FabricNetwork) -> Result<()> {
    let dir = folder.join("fabric");
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    for mspid in [ORG1, ORG2, ORDERER] {
        let from = net
            .org(mspid)
            .org_msp_folder()
            .path()
            .join("cacerts/ca.pem");
        std::fs::copy(&from, dir.join(format!("{mspid}-ca.pem")))
            .with_context(|| format!("while copying {}", from.display()))?;
    }
    let user = net.org(ORG1).msp_folder();
    std::fs::copy(
        user.path().join("signcerts/cert.pem"),
        dir.join("client.pem"),
    )
    .context("while copying the Fabric client's certificate")?;
    let key = Zeroizing::new(
        std::fs::read(user.path().join("keystore/key_sk"))
            .context("while reading the Fabric client's key")?,
    );
    write_secret_file(&folder.join("keys/fabric-signer.key"), &key)?;
    std::fs::write(dir.join("tlsca.pem"), net.tls_ca_pem())
        .with_context(|| format!("while writing {}", dir.join("tlsca.pem").display()))?;
    Ok(())
}

/// The `[chains.<name>]` entry of the Fabric channel (paths as [`write_fabric_files`] wrote them).
fn fabric_toml(fabric: LocalFabric<'_>) -> String {
    let net = fabric.net;
    format!(
        r#"
[chains.{name}]
domain = {domain}
family = "fabric"
chain_id = {chain_id}
endpoints = ["grpcs://127.0.0.1:{port}"]
finality = "on-commit"
channel = "{channel}"
outbox_chaincode = "{OUTBOX_CHAINCODE}"
inbox_chaincode = "{inbox}"
msp_id = "{ORG1}"
identity_cert_file = "fabric/client.pem"
signer_key_files = ["keys/fabric-signer.key"]
tls_ca_file = "fabric/tlsca.pem"

[chains.{name}.verifier]
orgs = [
    {{ msp_id = "{ORG1}", root_cert_files = ["fabric/{ORG1}-ca.pem"] }},
    {{ msp_id = "{ORG2}", root_cert_files = ["fabric/{ORG2}-ca.pem"] }},
]
orderers = [{{ msp_id = "{ORDERER}", root_cert_files = ["fabric/{ORDERER}-ca.pem"] }}]
endorsement_policy = "AND({ORG1},{ORG2})"
"#,
        name = fabric.name,
        domain = net.domain().0,
        chain_id = net.chain_id(),
        port = net.port(),
        channel = net.channel(),
        inbox = fabric.inbox_chaincode,
    )
}
