//! `causeway config check` and the library's `wiring`, against a running devnet: two anvil
//! chains with the contracts deployed and a 2-of-3 committee installed on both Inboxes.
//!
//! A configuration written for that devnet wires (each lane's signing domain is the one the
//! destination Inbox checks) and passes the check with exit 0; the same configuration with a
//! wrong chain id, an Outbox address without code, a validator set that differs from the
//! chain's and an unreachable endpoint reports all of those in one run and exits 1.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use causeway_config::Config;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain, Devnet};
use causeway_gateway::wiring::{self, Subject, WiringError};

use crate::init::value;
use crate::support::{causeway, text};

/// The committee's deterministic keys (org1, org2, org3 in ascending address order).
const COMMITTEE: &str = "causeway-gateway-config-check";
/// The dev account whose key the gateway signs deliveries with (funded by anvil).
pub(crate) const SIGNER_ACCOUNT: usize = 5;
/// Valid X25519 public keys for the other members (from config/examples/gateway.toml).
const ORG2_PRIVACY: &str = "BSpQdzrI2Rdz8tyWYuEvDe/pFeQVuKHI4gpaPWqyuEM=";
const ORG3_PRIVACY: &str = "GX/CxWfcA+4qrfDthmgdrCTap26DylVYdd075zduUwY=";
/// An address with no contract on the devnet chains.
const NO_CODE: &str = "0x00000000000000000000000000000000000000ee";
/// A validator address the chains do not know.
const STRANGER: &str = "0x3325a78425f17a7e487eb5666b2bfd93abb06c70";
/// A loopback endpoint nothing listens on, with credentials that must never be shown (given
/// in the environment, as the configuration requires of URLs with credentials).
const UNREACHABLE: &str = "http://user:hunter2@127.0.0.1:1/v3/APIKEY";
/// The variable that gives it.
const GAMMA_ENDPOINTS: &str = "CAUSEWAY_CHAIN_GAMMA_ENDPOINTS";
/// How it is shown.
const UNREACHABLE_SHOWN: &str = "http://127.0.0.1:1";

/// An organisation folder made by `causeway init` (privacy and TLS keys), with org1's
/// validator key replaced by the committee's first key.
pub(crate) struct Org {
    dir: tempfile::TempDir,
    privacy_public_key: String,
}

/// Writes `text` to `path`, readable by its owner only (as key files must be).
pub(crate) fn secret_file(path: &Path, text: &[u8]) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl Org {
    /// `causeway init --org org1 --self-signed`, then the committee's first key as validator key.
    pub(crate) fn new(committee: &Committee) -> Org {
        let dir = tempfile::tempdir().unwrap();
        let gw = dir.path().join("org1");
        let out = causeway(&[
            "init",
            "--org",
            "org1",
            "--dir",
            gw.to_str().unwrap(),
            "--self-signed",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let entry = &stdout[stdout.find("[[members]]").unwrap()..];
        let privacy_public_key = value(entry, "privacy_public_key").to_owned();
        let validator = committee.keys()[0].secret_bytes();
        secret_file(
            &gw.join("keys/validator.key"),
            format!("{}\n", hex::encode(*validator)).as_bytes(),
        );
        Org {
            dir,
            privacy_public_key,
        }
    }

    /// The folder (the configuration's paths are relative to it).
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("org1")
    }

    /// Writes `keys/<chain>-signer.key` with dev account [`SIGNER_ACCOUNT`] of `chain`.
    pub(crate) fn evm_signer(&self, name: &str, chain: &DevChain) {
        let key = chain.node.dev_keys()[SIGNER_ACCOUNT].to_bytes();
        secret_file(
            &self.path().join(format!("keys/{name}-signer.key")),
            format!("{}\n", hex::encode(key.0)).as_bytes(),
        );
    }

    /// `[gateway]`, the three members (org3's address replaced by `org3`, if given), and
    /// `[storage]`.
    pub(crate) fn gateway_toml(&self, committee: &Committee, org3: Option<&str>) -> String {
        let addresses: Vec<String> = committee
            .keys()
            .iter()
            .map(|k| k.address().to_string())
            .collect();
        format!(
            r#"
[gateway]
organisation = "org1"
validator_key_file = "keys/validator.key"
privacy_key_file = "keys/privacy.key"
peer_listen = "127.0.0.1:7443"
tls = {{ cert_file = "tls/gateway.crt", key_file = "tls/gateway.key" }}

[[members]]
name = "org1"
validator_address = "{org1}"
privacy_public_key = "{org1_privacy}"
peer_endpoint = "https://localhost:7443"
tls = {{ ca_file = "tls/gateway.crt" }}

[[members]]
name = "org2"
validator_address = "{org2}"
privacy_public_key = "{ORG2_PRIVACY}"
peer_endpoint = "https://localhost:7444"
tls = {{ ca_file = "tls/gateway.crt" }}

[[members]]
name = "org3"
validator_address = "{org3}"
privacy_public_key = "{ORG3_PRIVACY}"
peer_endpoint = "https://localhost:7445"
tls = {{ ca_file = "tls/gateway.crt" }}

[storage]
sqlite_path = "data/causeway.sqlite"
"#,
            org1 = addresses[0],
            org2 = addresses[1],
            org3 = org3.unwrap_or(&addresses[2]),
            org1_privacy = self.privacy_public_key,
        )
    }

    /// Writes `causeway.toml` and returns its path.
    pub(crate) fn write_config(&self, toml: &str) -> PathBuf {
        let path = self.path().join("causeway.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }
}

/// The lanes `<a>-to-<b>` and `<b>-to-<a>`, 2 of org1, org2, org3.
pub(crate) fn lanes_toml(a: &str, b: &str) -> String {
    let mut out = String::new();
    for (origin, destination) in [(a, b), (b, a)] {
        out += &format!(
            r#"
[lanes.{origin}-to-{destination}]
origin = "{origin}"
destination = "{destination}"
validators = ["org1", "org2", "org3"]
threshold = 2
"#
        );
    }
    out
}

/// What a test changes in the configuration.
#[derive(Default)]
pub(crate) struct Faults {
    alpha_chain_id: Option<u64>,
    beta_outbox: Option<String>,
    /// An Anchor address for beta (some other contract in the test).
    beta_anchor: Option<String>,
    /// Beta's signer key: an account without funds.
    beta_unfunded_signer: bool,
    org3_address: Option<String>,
    gamma: bool,
}

/// `[chains.<name>]` for a devnet chain, signing with `keys/<name>-signer.key`.
pub(crate) fn chain_toml(name: &str, chain: &DevChain, chain_id: u64, outbox: &str) -> String {
    format!(
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
        domain = chain.spec.domain.0,
        endpoint = chain.node.endpoint(),
        inbox = chain.inbox.address(),
    )
}

/// Writes the two-chain configuration with `faults` into the organisation's folder.
pub(crate) fn write_config(
    org: &Org,
    devnet: &Devnet,
    committee: &Committee,
    faults: &Faults,
) -> PathBuf {
    org.evm_signer("alpha", &devnet.a);
    org.evm_signer("beta", &devnet.b);
    let mut toml = org.gateway_toml(committee, faults.org3_address.as_deref());
    toml += &lanes_toml("alpha", "beta");
    toml += &chain_toml(
        "alpha",
        &devnet.a,
        faults.alpha_chain_id.unwrap_or(CHAIN_A.chain_id),
        &devnet.a.outbox.address().to_string(),
    );
    toml += &chain_toml(
        "beta",
        &devnet.b,
        CHAIN_B.chain_id,
        faults
            .beta_outbox
            .as_deref()
            .unwrap_or(&devnet.b.outbox.address().to_string()),
    );
    if let Some(anchor) = &faults.beta_anchor {
        toml += &format!("anchor = \"{anchor}\"\n");
    }
    if faults.beta_unfunded_signer {
        // A committee key: never one of anvil's funded dev accounts.
        let key = committee.keys()[1].secret_bytes();
        secret_file(
            &org.path().join("keys/beta-signer.key"),
            format!("{}\n", hex::encode(*key)).as_bytes(),
        );
    }
    if faults.gamma {
        toml += &format!(
            r#"
[chains.gamma]
domain = 3
family = "evm"
chain_id = 31339
endpoints = ["{UNREACHABLE_SHOWN}"]
finality = {{ confirmations = 1 }}
outbox = "{NO_CODE}"
inbox = "{NO_CODE}"
"#
        );
    }
    org.write_config(&toml)
}

/// Two chains with a committee installed on both Inboxes, for each other's origin.
pub(crate) async fn devnet() -> (Devnet, Committee) {
    let devnet = Devnet::start().await.unwrap();
    let committee = Committee::new(COMMITTEE, 3, 2);
    committee
        .install(&devnet.b.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .unwrap();
    committee
        .install(&devnet.a.inbox, CHAIN_B.domain, CHAIN_B.chain_id)
        .await
        .unwrap();
    (devnet, committee)
}

/// `causeway config check --config <config>`.
pub(crate) fn check(config: &Path) -> std::process::Output {
    causeway(&["config", "check", "--config", config.to_str().unwrap()])
}

/// `causeway config check` with `GAMMA_ENDPOINTS` set.
fn check_with_gamma_endpoints(config: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(["config", "check", "--config", config.to_str().unwrap()])
        .env(GAMMA_ENDPOINTS, UNREACHABLE)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_for_a_running_devnet_wires_and_passes_the_check() {
    let (devnet, committee) = devnet().await;
    let org = Org::new(&committee);
    let path = write_config(&org, &devnet, &committee, &Faults::default());

    let out = tokio::task::spawn_blocking({
        let path = path.clone();
        move || check(&path)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("OK (2 chain(s), 2 lane(s) checked"),
        "{}",
        text(&out)
    );

    let config = Config::load(&path).unwrap();
    let wired = wiring::wire(&config).await.unwrap();
    assert!(wired.warnings.is_empty(), "{:?}", wired.warnings);
    assert_eq!(wired.chains.len(), 2);
    assert!(wired.chains.iter().all(|c| c.destination.is_some()));
    assert_eq!(wired.chain_by_domain(CHAIN_B.domain).unwrap().name, "beta");
    assert_eq!(wired.origins.len(), 2);
    let mut origins: Vec<_> = wired.origins.iter().map(|o| o.source.domain()).collect();
    origins.sort();
    assert_eq!(origins, [CHAIN_A.domain, CHAIN_B.domain]);
    // Each lane signs for exactly what its destination's Inbox checks: the epoch, chain ids and
    // Inbox the committee was installed under.
    for (name, lane) in &wired.lanes {
        let (dest, origin) = match name.as_str() {
            "alpha-to-beta" => (&devnet.b, CHAIN_A),
            "beta-to-alpha" => (&devnet.a, CHAIN_B),
            other => panic!("unexpected lane {other}"),
        };
        let set = dest
            .inbox
            .validatorSet(origin.domain.0)
            .call()
            .await
            .unwrap();
        let expected = causeway_devnet::fixtures::evm_signing_domain(
            origin.domain,
            origin.chain_id,
            dest.spec.domain,
            dest.spec.chain_id,
            *dest.inbox.address(),
            set.epoch,
        );
        assert_eq!(lane.signing_domain, expected, "{name}");
        assert_eq!(lane.destination.domain(), dest.spec.domain);
        assert_eq!(lane.validators.threshold(), 2);
        assert_eq!(
            lane.batch_size,
            causeway_config::Relaying::DEFAULT_BATCH_SIZE
        );
    }
    assert_eq!(wired.lanes.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_is_reported_in_one_run_and_the_check_exits_1() {
    let (devnet, committee) = devnet().await;
    let org = Org::new(&committee);
    let faults = Faults {
        alpha_chain_id: Some(999),
        beta_outbox: Some(NO_CODE.to_owned()),
        beta_anchor: Some(devnet.b.recipient.address().to_string()),
        beta_unfunded_signer: true,
        org3_address: Some(STRANGER.to_owned()),
        gamma: true,
    };
    let path = write_config(&org, &devnet, &committee, &faults);

    let out = tokio::task::spawn_blocking({
        let path = path.clone();
        move || check_with_gamma_endpoints(&path)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let a = devnet.a.node.endpoint();
    for expected in [
        // The wrong chain id, with both numbers.
        format!(
            "error: chain alpha: endpoint {} serves chain id 31337, but chains.alpha.chain_id is 999",
            a.trim_end_matches('/')
        ),
        // The Outbox without code.
        format!("error: chain beta: the Outbox address {NO_CODE} has no code on this chain"),
        // Code, but not the Causeway contract's.
        format!(
            "error: chain beta: the contract at {} is not the Causeway Anchor this gateway was \
             built with",
            devnet.b.recipient.address().to_string().to_lowercase()
        ),
        // A signer account without funds: a warning, not an error.
        format!(
            "warning: chain beta: the signer account {} (chains.beta.signer_key_files[0]",
            committee.keys()[1].address()
        ),
        // The unreachable endpoint.
        format!("error: chain gamma: endpoint {UNREACHABLE_SHOWN} is unreachable"),
        // The validator set that differs, naming the member and the stranger.
        format!("configured validators missing on chain: org3 ({STRANGER})"),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in\n{}",
            text(&out)
        );
    }
    assert!(
        stdout.contains(
            "error: lane alpha-to-beta: the validator set on beta for origin alpha differs"
        ),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(&format!(
            "validators on chain that the configuration does not list: {}",
            committee.keys()[2].address()
        )),
        "{}",
        text(&out)
    );
    // Every error line says how to fix it, and the summary counts them.
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert!(errors.len() >= 4, "{}", text(&out));
    assert!(
        errors.iter().all(|l| l.contains("(fix: ")),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(&format!(
            "{} problem(s) keep the gateway from starting, 1 warning(s)",
            errors.len()
        )),
        "{}",
        text(&out)
    );
    // No secret: neither the validator key nor a signer key appears anywhere.
    let validator = hex::encode(*committee.keys()[0].secret_bytes());
    let signer = hex::encode(devnet.b.node.dev_keys()[SIGNER_ACCOUNT].to_bytes().0);
    let all = text(&out);
    for secret in [validator.as_str(), signer.as_str(), "hunter2", "APIKEY"] {
        assert!(!all.contains(secret), "{secret} shown in {all}");
    }

    // The library refuses to wire with the same problems.
    let env =
        std::collections::BTreeMap::from([(GAMMA_ENDPOINTS.to_owned(), UNREACHABLE.to_owned())]);
    let config = Config::load_with_env(&path, &env).unwrap();
    let Err(WiringError::Refused { report }) = wiring::wire(&config).await else {
        panic!("a configuration with problems was wired");
    };
    let subjects: Vec<&Subject> = report.errors().map(|p| &p.subject).collect();
    for subject in [
        Subject::Chain("alpha".into()),
        Subject::Chain("beta".into()),
        Subject::Chain("gamma".into()),
        Subject::Lane("alpha-to-beta".into()),
    ] {
        assert!(subjects.contains(&&subject), "{subject} not in {report:?}");
    }
    assert!(!report.is_clean());
    assert_eq!(report.warnings().count(), 1, "{report:?}");
}

#[test]
fn an_invalid_file_is_reported_with_exit_1_and_a_missing_one_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[gateway]\nunknown_key = 1\n").unwrap();
    let out = check(&bad);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("problem(s) in the file"),
        "{}",
        text(&out)
    );
    let out = check(&dir.path().join("absent.toml"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// A chain with one dead endpoint beside a live one still passes the check: the dead one is a
/// warning (the adapters fail over between a chain's endpoints), not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_beside_a_live_one_is_a_warning() {
    let (devnet, committee) = devnet().await;
    let org = Org::new(&committee);
    let path = write_config(&org, &devnet, &committee, &Faults::default());
    let live = devnet.a.node.endpoint();
    let toml = std::fs::read_to_string(&path).unwrap();
    let edited = toml.replacen(
        &format!("endpoints = [\"{live}\"]"),
        &format!("endpoints = [\"{UNREACHABLE_SHOWN}\", \"{live}\"]"),
        1,
    );
    assert_ne!(toml, edited, "alpha's endpoints line not found");
    std::fs::write(&path, edited).unwrap();
    let out = tokio::task::spawn_blocking(move || check(&path))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout.contains(&format!(
            "warning: chain alpha: endpoint {UNREACHABLE_SHOWN} is unreachable"
        )),
        "{}",
        text(&out)
    );
    assert!(!stdout.contains("error: "), "{}", text(&out));
}
