//! Hyperledger Fabric channels: the startup probes (every peer reachable over TLS, the outbox
//! and inbox chaincodes answering, the validator sets the inbox holds) and the adapters built
//! from a `[chains.*]` entry of family `fabric`: its MSP roots, orderers, endorsement policy,
//! consenters, identity certificate and signer key, and TLS CA.

use std::io::Read as _;
use std::path::Path;

use causeway_adapters::RevertReason;
use causeway_adapters::fabric::inbox_wire::decode_revert;
use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{
    EndorsementPolicy, FabricClient, FabricDestination, FabricDestinationConfig, FabricIdentity,
    FabricSource, FabricSourceConfig, FabricStateReader, FabricStateReaderConfig,
    FabricVerifierConfig, SigningIdentity, TlsConfig, TlsIdentity, TrustedMsps,
    msp_roots_from_files,
};
use causeway_config::{Chain, ChainKind, FabricChain, FabricClientTls, FabricMsp, FabricPolicy};
use causeway_proofs::{Domain, EvmAddress};
use zeroize::Zeroizing;

use super::problem::{Problem, Report, Subject};
use super::validators::OnChainSet;

/// Largest PEM file read (a certificate chain or a PKCS#8 key is a few KiB).
const MAX_PEM_LEN: u64 = 256 * 1024;

/// What a Fabric chain's configuration resolves to before any peer is contacted.
#[derive(Clone)]
pub(crate) struct FabricSetup {
    signer: SigningIdentity,
    tls_ca_pem: Vec<u8>,
    /// The client certificate and key for peers that require mutual TLS.
    tls_client: Option<TlsIdentity>,
    verifier: FabricVerifierConfig,
    reader: FabricStateReaderConfig,
    /// The identity applications' messages are dispatched as (`sender_cert_file` and
    /// `sender_key_file`), when configured.
    sender: Option<SigningIdentity>,
}

/// A peer that accepted our TLS connection and identity.
#[derive(Clone, Debug)]
pub(crate) struct FabricPeer {
    client: FabricClient,
    /// The endpoint as the client dials it (`https://host:port`); never carries credentials.
    endpoint: String,
}

fn problem(chain: &Chain, what: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem::error(Subject::Chain(chain.name.clone()), what, fix)
}

/// Reads a PEM file of at most [`MAX_PEM_LEN`] bytes (a regular file only), wiped on drop.
fn read_pem(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let file = causeway_config::open_regular_file(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(8 * 1024));
    file.take(MAX_PEM_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_PEM_LEN {
        return Err(format!(
            "{} is larger than the {MAX_PEM_LEN} bytes a PEM file may have",
            path.display()
        ));
    }
    Ok(bytes)
}

fn trusted(msps: &[FabricMsp]) -> Result<TrustedMsps, String> {
    msps.iter()
        .map(|m| msp_roots_from_files(&m.msp_id, &m.root_cert_files).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedMsps::new)
}

fn policy(policy: &FabricPolicy) -> Result<EndorsementPolicy, String> {
    match policy {
        FabricPolicy::AllOf(m) => Ok(EndorsementPolicy::AllOf(m.clone())),
        FabricPolicy::OutOf { n, msps } => Ok(EndorsementPolicy::OutOf {
            n: *n,
            msps: msps.clone(),
        }),
        FabricPolicy::Majority(m) => Ok(EndorsementPolicy::Majority(m.clone())),
        other => Err(format!(
            "endorsement policy {other} is not supported by this build"
        )),
    }
}

/// Resolves the chain's files: identity, TLS CA, MSP roots, policy and consenters. Every
/// problem goes to `report`; `None` if any.
pub(crate) fn setup(
    chain: &Chain,
    fabric: &FabricChain,
    report: &mut Report,
) -> Option<FabricSetup> {
    let before = report.errors().count();
    let name = &chain.name;
    let signer = match (&fabric.identity_cert_file, chain.signer_key_files.first()) {
        (Some(cert), Some(key)) => {
            let loaded = read_pem(cert).and_then(|cert_pem| {
                let key_pem = read_pem(key)?;
                let key_text = std::str::from_utf8(&key_pem)
                    .map_err(|_| format!("the signer key {} is not PEM text", key.display()))?;
                SigningIdentity::from_pem(&fabric.msp_id, &cert_pem, key_text)
                    .map_err(|e| e.to_string())
            });
            match loaded {
                Ok(identity) => Some(identity),
                Err(e) => {
                    report.push(problem(
                        chain,
                        format!(
                            "the Fabric identity ({}) cannot be loaded: {e}",
                            fabric.msp_id
                        ),
                        format!(
                            "set chains.{name}.identity_cert_file and signer_key_files[0] to a \
                             certificate of {} and its PKCS#8 P-256 key (an MSP folder's \
                             signcerts/ and keystore/)",
                            fabric.msp_id
                        ),
                    ));
                    None
                }
            }
        }
        _ => {
            report.push(problem(
                chain,
                "no Fabric identity is configured: the peers' Gateway and Deliver services \
                 answer only signed requests",
                format!(
                    "set chains.{name}.identity_cert_file and chains.{name}.signer_key_files to \
                     a certificate of {} and its key",
                    fabric.msp_id
                ),
            ));
            None
        }
    };
    let sender = match (&fabric.sender_cert_file, &chain.sender_key_file) {
        (Some(cert), Some(key)) => match load_identity(&fabric.msp_id, cert, key) {
            Ok(identity) => Some(Some(identity)),
            Err(e) => {
                report.push(problem(
                    chain,
                    format!(
                        "the sender identity ({}) cannot be loaded: {e}",
                        fabric.msp_id
                    ),
                    format!(
                        "set chains.{name}.sender_cert_file and sender_key_file to a certificate \
                         of {} and its PKCS#8 P-256 key (an MSP folder's signcerts/ and \
                         keystore/; the chain's identity_cert_file and signer_key_files[0] will do)",
                        fabric.msp_id
                    ),
                ));
                None
            }
        },
        _ => Some(None),
    };
    let tls_ca_pem = match &fabric.tls_ca_file {
        Some(file) => match read_pem(file) {
            Ok(pem) => Some(pem.to_vec()),
            Err(e) => {
                report.push(problem(
                    chain,
                    e,
                    format!("set chains.{name}.tls_ca_file to the peers' TLS CA certificate"),
                ));
                None
            }
        },
        None => {
            report.push(problem(
                chain,
                "no TLS CA is configured: this gateway talks to Fabric peers over TLS only",
                format!(
                    "set chains.{name}.tls_ca_file to the peers' TLS CA certificate and use \
                     grpcs:// endpoints"
                ),
            ));
            None
        }
    };
    let tls_client = match &fabric.tls_client {
        None => Some(None),
        Some(files) => match client_tls(files) {
            Ok(identity) => Some(Some(identity)),
            Err(e) => {
                report.push(problem(
                    chain,
                    format!("the client TLS identity cannot be loaded: {e}"),
                    format!(
                        "set chains.{name}.tls_client_cert_file and tls_client_key_file to a TLS \
                         certificate the peers' TLS CA issued and its PKCS#8 P-256 key (PEM)"
                    ),
                ));
                None
            }
        },
    };
    let verifier = &fabric.verifier;
    let fix_roots =
        format!("set chains.{name}.verifier's root_cert_files to the organisations' MSP cacerts/");
    let orgs = trusted(&verifier.orgs)
        .map_err(|e| report.push(problem(chain, e, fix_roots.clone())))
        .ok();
    let orderers = trusted(&verifier.orderers)
        .map_err(|e| report.push(problem(chain, e, fix_roots.clone())))
        .ok();
    let endorsement = policy(&verifier.endorsement_policy)
        .map_err(|e| {
            report.push(problem(
                chain,
                e,
                format!("write chains.{name}.verifier.endorsement_policy with AND, OR, OutOf or MAJORITY"),
            ))
        })
        .ok();
    let consenters = verifier
        .consenters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            read_pem(&c.cert_file)
                .and_then(|pem| {
                    FabricIdentity::from_pem(&c.msp_id, &pem).map_err(|e| e.to_string())
                })
                .map_err(|e| {
                    report.push(problem(
                        chain,
                        format!("consenter {i} ({}): {e}", c.msp_id),
                        format!(
                            "set chains.{name}.verifier.consenters[{i}].cert_file to the \
                             consenter's signing certificate (PEM)"
                        ),
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .ok();
    if report.errors().count() > before {
        return None;
    }
    let (signer, sender, tls_ca_pem, tls_client, orgs, orderers, endorsement, consenters) = (
        signer?,
        sender?,
        tls_ca_pem?,
        tls_client?,
        orgs?,
        orderers?,
        endorsement?,
        consenters?,
    );
    let mut config = FabricVerifierConfig::new(
        &fabric.channel,
        orgs.clone(),
        orderers.clone(),
        endorsement.clone(),
    );
    config.outbox_chaincode = fabric.outbox_chaincode.clone();
    config.orderer_signatures_required = verifier.orderer_signatures as usize;
    config.consenters = consenters;
    let mut reader = FabricStateReaderConfig::new(orgs, orderers, endorsement);
    reader.orderer_signatures_required = verifier.orderer_signatures as usize;
    Some(FabricSetup {
        signer,
        tls_ca_pem,
        tls_client,
        verifier: config,
        reader,
        sender,
    })
}

/// Loads an MSP identity from its certificate and PKCS#8 key files.
fn load_identity(mspid: &str, cert: &Path, key: &Path) -> Result<SigningIdentity, String> {
    let cert_pem = read_pem(cert)?;
    let key_pem = read_pem(key)?;
    let key_text = std::str::from_utf8(&key_pem)
        .map_err(|_| format!("the key {} is not PEM text", key.display()))?;
    SigningIdentity::from_pem(mspid, &cert_pem, key_text).map_err(|e| e.to_string())
}

/// The dispatcher's side of a Fabric chain with a sender identity (`None` without one): its
/// peers, TLS, channel and outbox chaincode, and the identity. `Err` says what is wrong.
pub(crate) fn sender_origin(
    chain: &Chain,
    fabric: &FabricChain,
) -> Result<Option<crate::private::dispatch::fabric::FabricOriginConfig>, String> {
    let mut report = Report::default();
    let setup = setup(chain, fabric, &mut report);
    let Some(setup) = setup else {
        return Err(report
            .errors()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "));
    };
    let Some(sender) = setup.sender else {
        return Ok(None);
    };
    let endpoints = chain
        .endpoints
        .iter()
        .map(dial_url)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{e} (fix: use grpcs:// endpoints in chains.{}.endpoints)",
                chain.name
            )
        })?;
    Ok(Some(crate::private::dispatch::fabric::FabricOriginConfig {
        endpoints,
        tls: TlsConfig {
            ca_pem: setup.tls_ca_pem,
            client_identity: setup.tls_client,
            server_name: None,
        },
        sender,
        channel: fabric.channel.clone(),
        outbox_chaincode: fabric.outbox_chaincode.clone(),
    }))
}

/// Loads a client TLS identity: the certificate (PEM, leaf first) and its key, which must be
/// the certificate's (checked here, not left to a handshake the peer ends without a reason).
fn client_tls(files: &FabricClientTls) -> Result<TlsIdentity, String> {
    let cert_pem = read_pem(&files.cert_file)?;
    let key_pem = read_pem(&files.key_file)?;
    let key_text = std::str::from_utf8(&key_pem)
        .map_err(|_| format!("{} is not PEM text", files.key_file.display()))?;
    // The pairing check of a signing identity: the key is P-256 (as Fabric's TLS CAs issue)
    // and its public half is the certificate's.
    SigningIdentity::from_pem("tls", &cert_pem, key_text).map_err(|e| {
        format!(
            "{} and {}: {e}",
            files.cert_file.display(),
            files.key_file.display()
        )
    })?;
    let identity = TlsIdentity {
        cert_pem: cert_pem.to_vec(),
        key_pem: Zeroizing::new(key_pem.to_vec()),
    };
    identity.cert_hash().map_err(|e| e.to_string())?;
    Ok(identity)
}

/// What to add to a fix when a peer refused or dropped us and no client TLS identity is
/// configured: the peer may require one.
fn mutual_tls_hint(setup: &FabricSetup, name: &str) -> String {
    if setup.tls_client.is_some() {
        String::new()
    } else {
        format!(
            "; if the peers require client certificates (mutual TLS), set \
             chains.{name}.tls_client_cert_file and tls_client_key_file"
        )
    }
}

/// The URL the client dials for a configured endpoint: `grpcs://` is gRPC over TLS, which
/// tonic spells `https://`.
fn dial_url(endpoint: &causeway_config::Endpoint) -> Result<String, String> {
    let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
    match endpoint.scheme() {
        "grpcs" | "https" => Ok(format!("https://{}{port}", endpoint.host())),
        other => Err(format!(
            "endpoint {endpoint} uses {other}://, but this gateway talks to Fabric peers over \
             TLS only"
        )),
    }
}

/// An answer of a chaincode function evaluated on `peer`, or why there is none.
async fn evaluate(
    peer: &FabricPeer,
    channel: &str,
    chaincode: &str,
    function: &str,
    args: Vec<Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let invocation = Invocation::new(channel, chaincode, function, args);
    let response = peer
        .client
        .evaluate(&invocation, &[])
        .await
        .map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!(
            "{chaincode}.{function} answered status {}: {}",
            response.status, response.message
        ));
    }
    Ok(response.payload)
}

/// Connects to every peer and, on the first that accepts us, checks that the outbox and
/// inbox chaincodes answer. Returns that peer, or `None` (reasons in `report`).
pub(crate) async fn probe(
    chain: &Chain,
    fabric: &FabricChain,
    setup: &FabricSetup,
    report: &mut Report,
) -> Option<FabricPeer> {
    let name = &chain.name;
    let mut good = None;
    for endpoint in &chain.endpoints {
        let url = match dial_url(endpoint) {
            Ok(url) => url,
            Err(e) => {
                report.push(problem(
                    chain,
                    e,
                    format!("use grpcs:// endpoints in chains.{name}.endpoints"),
                ));
                continue;
            }
        };
        let tls = TlsConfig {
            ca_pem: setup.tls_ca_pem.clone(),
            client_identity: setup.tls_client.clone(),
            server_name: None,
        };
        match FabricClient::connect(&url, tls, setup.signer.clone()).await {
            Ok(client) => {
                if good.is_none() {
                    good = Some(FabricPeer {
                        client,
                        endpoint: url,
                    });
                }
            }
            Err(e) => report.push(problem(
                chain,
                format!("peer {endpoint} is unreachable: {e}"),
                format!(
                    "start the peer, or correct chains.{name}.endpoints and tls_ca_file (its TLS \
                     certificate must chain to that CA and name the endpoint's host){}",
                    mutual_tls_hint(setup, name)
                ),
            )),
        }
    }
    let peer = good?;
    let outbox = evaluate(
        &peer,
        &fabric.channel,
        &fabric.outbox_chaincode,
        "nonce",
        vec![],
    )
    .await;
    if let Err(e) = outbox {
        report.push(problem(
            chain,
            format!(
                "the outbox chaincode {} on channel {} does not answer: {e}",
                fabric.outbox_chaincode, fabric.channel
            ),
            format!(
                "install and commit the Causeway outbox chaincode, or correct chains.{name}.channel \
                 and outbox_chaincode{}",
                mutual_tls_hint(setup, name)
            ),
        ));
    }
    let zero_id = vec![format!("0x{}", "00".repeat(32)).into_bytes()];
    let inbox = evaluate(
        &peer,
        &fabric.channel,
        &fabric.inbox_chaincode,
        "isDelivered",
        zero_id,
    )
    .await;
    if let Err(e) = inbox {
        report.push(problem(
            chain,
            format!(
                "the inbox chaincode {} on channel {} does not answer: {e}",
                fabric.inbox_chaincode, fabric.channel
            ),
            format!(
                "install and commit the Causeway inbox chaincode, or correct chains.{name}.channel \
                 and inbox_chaincode"
            ),
        ));
    }
    Some(peer)
}

/// The newest block of a Fabric channel, read from the first of its peers that answers (as
/// the configured identity, over the configured TLS): that peer's endpoint and the block's
/// number. Fabric blocks are final on commit, so the newest block is the final height too.
/// Errors name each peer's failure, never a secret.
pub async fn newest_block(chain: &Chain) -> Result<(String, u64), String> {
    let ChainKind::Fabric(fabric) = &chain.kind else {
        return Err(format!("{} is not a Fabric chain", chain.name));
    };
    let mut report = Report::default();
    let Some(setup) = setup(chain, fabric, &mut report) else {
        let errors: Vec<String> = report.errors().map(|p| p.to_string()).collect();
        return Err(errors.join("; "));
    };
    let mut failures = Vec::new();
    for endpoint in &chain.endpoints {
        let url = match dial_url(endpoint) {
            Ok(url) => url,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let tls = TlsConfig {
            ca_pem: setup.tls_ca_pem.clone(),
            client_identity: setup.tls_client.clone(),
            server_name: None,
        };
        let read = async {
            let client = FabricClient::connect(&url, tls, setup.signer.clone()).await?;
            client.newest_block_number(&fabric.channel).await
        };
        match tokio::time::timeout(crate::heights::PROBE_TIMEOUT, read).await {
            Ok(Ok(number)) => return Ok((endpoint.to_string(), number)),
            Ok(Err(e)) => failures.push(format!("{endpoint}: {e}")),
            Err(_) => failures.push(format!(
                "{endpoint}: no answer within {} s",
                crate::heights::PROBE_TIMEOUT.as_secs()
            )),
        }
    }
    Err(failures.join("; "))
}

/// The validator set the inbox chaincode holds for `origin` (empty when it holds none).
pub(crate) async fn validator_set(
    peer: &FabricPeer,
    fabric: &FabricChain,
    origin: Domain,
) -> Result<OnChainSet, String> {
    let answer = evaluate(
        peer,
        &fabric.channel,
        &fabric.inbox_chaincode,
        "getValidators",
        vec![origin.0.to_string().into_bytes()],
    )
    .await;
    let payload = match answer {
        Ok(payload) => payload,
        // The inbox refuses the query for an origin it has no set for.
        Err(e) if matches!(decode_revert(&e), Some(RevertReason::UnknownOrigin { .. })) => {
            return Ok(OnChainSet {
                validators: Vec::new(),
                threshold: 0,
                epoch: 0,
                origin_chain_id: 0,
            });
        }
        Err(e) => return Err(e),
    };
    #[derive(serde::Deserialize)]
    struct Stored {
        origin_chain_id: u64,
        threshold: u64,
        epoch: u64,
        validators: Vec<EvmAddress>,
    }
    let stored: Stored = serde_json::from_slice(&payload)
        .map_err(|e| format!("getValidators answered something else than a validator set: {e}"))?;
    Ok(OnChainSet {
        validators: stored.validators,
        threshold: stored.threshold,
        epoch: stored.epoch,
        origin_chain_id: stored.origin_chain_id,
    })
}

/// The adapters of one Fabric channel, over the probed peer.
pub(crate) struct FabricAdapters {
    /// The outbox's messages, block by block.
    pub(crate) source: FabricSource,
    /// The inbox, submitting as the configured identity.
    pub(crate) destination: FabricDestination,
    /// Chaincode state with endorsements.
    pub(crate) state: FabricStateReader,
    /// Where the three count their requests to the peer (their one client's, for `/metrics`).
    pub(crate) metrics: causeway_adapters::metrics::ChainMetrics,
}

/// Builds the adapters of `chain` on `peer`.
pub(crate) fn build(
    chain: &Chain,
    fabric: &FabricChain,
    setup: &FabricSetup,
    peer: &FabricPeer,
    report: &mut Report,
) -> Option<FabricAdapters> {
    let name = &chain.name;
    let source = FabricSource::new(
        peer.client.clone(),
        peer.endpoint.clone(),
        FabricSourceConfig::new(chain.domain, setup.verifier.clone()),
    );
    let mut config = FabricDestinationConfig::new(chain.domain, fabric.chain_id, &fabric.channel);
    config.inbox_chaincode.clone_from(&fabric.inbox_chaincode);
    let destination = FabricDestination::new(peer.client.clone(), config);
    let state = FabricStateReader::new(peer.client.clone(), setup.reader.clone());
    match (source, destination) {
        (Ok(source), Ok(destination)) => Some(FabricAdapters {
            source,
            destination,
            state,
            metrics: peer.client.metrics().clone(),
        }),
        (Err(e), _) | (_, Err(e)) => {
            report.push(problem(
                chain,
                format!("cannot build the Fabric adapters: {e}"),
                format!("correct chains.{name}"),
            ));
            None
        }
    }
}
