//! FISCO BCOS chains: the startup probes of a node (reachable, serving the configured group and
//! chain id, `block.chainid` as configured, the configured sealers, the Causeway contracts with
//! the configured domain, signer keys of the chain's crypto mode, the validator sets its Inbox
//! holds) and the adapters built from a `[chains.*]` entry of family `fisco`.

use std::collections::BTreeSet;
use std::time::Duration;

use alloy::sol_types::SolCall;
use causeway_adapters::evm::bindings::IInbox;
use causeway_adapters::fisco::{
    DEFAULT_RANGE, FiscoDestination, FiscoDestinationConfig, FiscoRpc, FiscoSource,
    FiscoSourceConfig, FiscoStateReader,
};
use causeway_adapters::metrics::ChainMetrics;
use causeway_adapters::redact_endpoint;
use causeway_config::{Chain, FiscoChain};
use causeway_proofs::fisco::{NodeKey, NodeSecret};
use causeway_proofs::{Domain, EvmAddress};

use super::code::{Contract, check_deployed};
use super::evm::{env_name, read_signer_key};
use super::problem::{Problem, Report, Subject};
use super::validators::OnChainSet;

alloy::sol! {
    /// The immutable both the Outbox and the Inbox expose.
    interface IFiscoLocalDomain {
        function localDomain() external view returns (uint32);
    }
}

/// Time one probe request may take: a startup check must not hang on a node that accepts
/// connections and never answers (the adapter's own limit, for `sendTransaction`, is longer).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A FISCO BCOS node that answered for the configured group.
#[derive(Clone, Debug)]
pub(crate) struct FiscoNode {
    rpc: FiscoRpc,
    /// The URL as configured (may carry credentials: never shown).
    url: String,
    /// The URL without credentials, path or query.
    shown: String,
}

impl FiscoNode {
    /// Runs `request`, bounded by [`PROBE_TIMEOUT`]; errors without the URL's secrets.
    async fn ask<T>(
        &self,
        method: &str,
        request: impl core::future::Future<Output = Result<T, causeway_adapters::Error>>,
    ) -> Result<T, Asked> {
        match tokio::time::timeout(PROBE_TIMEOUT, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(causeway_adapters::Error::Rpc { code, message, .. })) => Err(Asked::Refused(
                format!("{method} refused ({code}): {message}"),
            )),
            Ok(Err(e)) => Err(Asked::Unreachable(format!("{method} failed: {e}"))),
            Err(_) => Err(Asked::Unreachable(format!(
                "{method} got no answer within {} s",
                PROBE_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The validator set the Inbox at `inbox` holds for `origin`.
    pub(crate) async fn validator_set(
        &self,
        inbox: EvmAddress,
        origin: Domain,
    ) -> Result<OnChainSet, String> {
        let call = IInbox::validatorSetCall { origin: origin.0 };
        let out = self
            .ask(
                "call validatorSet",
                self.rpc.call_contract(&inbox.0, &call.abi_encode()),
            )
            .await
            .map_err(Asked::text)?;
        if out.status != 0 {
            return Err(format!(
                "validatorSet({}) reverted (status {})",
                origin.0, out.status
            ));
        }
        let set = IInbox::validatorSetCall::abi_decode_returns(&out.output)
            .map_err(|e| format!("validatorSet answered 0x{} ({e})", hex::encode(&out.output)))?;
        Ok(OnChainSet {
            validators: set
                .validators
                .iter()
                .map(|a| EvmAddress(a.into_array()))
                .collect(),
            threshold: u64::from(set.threshold),
            epoch: set.epoch,
            origin_chain_id: set.originChainId,
        })
    }
}

/// Why a probe request failed: the node refused it (it answered with an error) or it could
/// not be asked at all.
enum Asked {
    Refused(String),
    Unreachable(String),
}

impl Asked {
    fn text(self) -> String {
        match self {
            Asked::Refused(t) | Asked::Unreachable(t) => t,
        }
    }
}

/// Probes every endpoint of a FISCO BCOS chain and, on the first that serves the configured
/// group and chain, its `web3_chain_id`, sealers, contracts and signer keys. Returns that node,
/// or `None` when none answered as it should (the reasons are in `report`).
pub(crate) async fn probe(
    chain: &Chain,
    fisco: &FiscoChain,
    report: &mut Report,
) -> Option<FiscoNode> {
    let subject = || Subject::Chain(chain.name.clone());
    let mut good = None;
    for endpoint in &chain.endpoints {
        let url = endpoint.as_str();
        let shown = redact_endpoint(url);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            report.push(Problem::error(
                subject(),
                format!("{shown}: only http and https endpoints are supported for FISCO BCOS"),
                format!(
                    "set chains.{}.endpoints to the nodes' JSON-RPC URLs (http://HOST:20200)",
                    chain.name
                ),
            ));
            continue;
        }
        let rpc = match FiscoRpc::new(url, fisco.group.clone()) {
            Ok(rpc) => rpc,
            Err(e) => {
                report.push(Problem::error(
                    subject(),
                    format!("{shown}: {e}"),
                    format!("correct chains.{}.endpoints", chain.name),
                ));
                continue;
            }
        };
        let node = FiscoNode {
            rpc,
            url: url.to_owned(),
            shown,
        };
        if group_and_chain(&node, chain, fisco, report).await && good.is_none() {
            good = Some(node);
        }
    }
    let node = good?;
    web3_chain_id(&node, chain, fisco, report).await;
    sealers(&node, chain, fisco, report).await;
    // The FiscoOutbox: its storage confirms each message (docs/fisco.md, "Receipt hash").
    contract(&node, chain, Contract::FiscoOutbox, fisco.outbox, report).await;
    contract(&node, chain, Contract::Inbox, fisco.inbox, report).await;
    for i in 0..chain.signer_key_files.len() {
        signer_key(chain, fisco, i, report);
    }
    sender_key(chain, fisco, report);
    Some(node)
}

/// The node answers for the configured group, and the group belongs to the configured chain.
async fn group_and_chain(
    node: &FiscoNode,
    chain: &Chain,
    fisco: &FiscoChain,
    report: &mut Report,
) -> bool {
    let subject = || Subject::Chain(chain.name.clone());
    match node.ask("getBlockNumber", node.rpc.block_number()).await {
        Ok(_) => {}
        Err(Asked::Refused(e)) => {
            report.push(Problem::error(
                subject(),
                format!(
                    "endpoint {} does not serve group {}: {e}",
                    node.shown, fisco.group
                ),
                format!(
                    "set chains.{}.group to a group the node serves (its getGroupList), or point \
                     the endpoint at a node of group {}",
                    chain.name, fisco.group
                ),
            ));
            return false;
        }
        Err(Asked::Unreachable(e)) => {
            report.push(Problem::error(
                subject(),
                format!("endpoint {} is unreachable: {e}", node.shown),
                format!(
                    "start the node or correct chains.{}.endpoints (or CAUSEWAY_CHAIN_{}_ENDPOINTS)",
                    chain.name,
                    env_name(&chain.name)
                ),
            ));
            return false;
        }
    }
    match node.ask("getGroupInfo", node.rpc.group_chain_id()).await {
        Ok(id) if id == fisco.chain_id => true,
        Ok(id) => {
            report.push(Problem::error(
                subject(),
                format!(
                    "endpoint {} serves group {} of chain {id}, but chains.{}.chain_id is {}",
                    node.shown, fisco.group, chain.name, fisco.chain_id
                ),
                format!(
                    "point the endpoint at a node of chain {} or, if the configuration is wrong, \
                     set chains.{}.chain_id = \"{id}\"",
                    fisco.chain_id, chain.name
                ),
            ));
            false
        }
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!(
                    "cannot read the chain id of group {} at {}: {}",
                    fisco.group,
                    node.shown,
                    e.text()
                ),
                format!("check that {} answers getGroupInfo", node.shown),
            ));
            false
        }
    }
}

/// `block.chainid` in the group's EVM (its `web3_chain_id` system configuration) is the
/// configured one: the Inbox binds every validator signature to it.
async fn web3_chain_id(node: &FiscoNode, chain: &Chain, fisco: &FiscoChain, report: &mut Report) {
    let subject = || Subject::Chain(chain.name.clone());
    let read = match node
        .ask(
            "getSystemConfigByKey web3_chain_id",
            node.rpc.system_config("web3_chain_id"),
        )
        .await
    {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map_err(|e| format!("web3_chain_id is `{v}`, not a chain id ({e})")),
        Err(Asked::Refused(e)) => Err(e),
        Err(Asked::Unreachable(e)) => {
            report.push(Problem::error(
                subject(),
                format!("cannot read group {}'s web3_chain_id: {e}", fisco.group),
                format!("check that {} answers getSystemConfigByKey", node.shown),
            ));
            return;
        }
    };
    match read {
        Ok(id) if id == fisco.web3_chain_id => {}
        Ok(0) => report.push(Problem::error(
            subject(),
            format!(
                "group {} has web3_chain_id 0 (never set): block.chainid in its EVM is 0, which \
                 names no chain, not the configured {}",
                fisco.group, fisco.web3_chain_id
            ),
            format!(
                "set it on the group: setSystemConfigByKey web3_chain_id {} (FISCO BCOS 3.9 or \
                 later, through the governance committee in auth mode)",
                fisco.web3_chain_id
            ),
        )),
        Ok(id) => report.push(Problem::error(
            subject(),
            format!(
                "group {} has web3_chain_id {id} (block.chainid in its EVM), but \
                 chains.{}.web3_chain_id is {}: every signature for its Inbox would be refused",
                fisco.group, chain.name, fisco.web3_chain_id
            ),
            format!("set chains.{}.web3_chain_id = {id}", chain.name),
        )),
        // Unset (or a node older than the key): block.chainid is then 0, never the configured
        // non-zero id, so every signature for the Inbox would be refused.
        Err(e) => report.push(Problem::error(
            subject(),
            format!(
                "cannot read group {}'s web3_chain_id ({e}): its EVM's block.chainid is then 0, \
                 not the configured {}",
                fisco.group, fisco.web3_chain_id
            ),
            format!(
                "set it on the group (setSystemConfigByKey web3_chain_id {}, FISCO BCOS 3.9 or \
                 later) and check `getSystemConfigByKey {} web3_chain_id` answers it",
                fisco.web3_chain_id, fisco.group
            ),
        )),
    }
}

/// The group's sealers (`getSealerList`) are the configured ones.
async fn sealers(node: &FiscoNode, chain: &Chain, fisco: &FiscoChain, report: &mut Report) {
    let subject = || Subject::Chain(chain.name.clone());
    let fix = format!(
        "set chains.{}.sealers to every nodeID of getSealerList (and crypto to the chain's mode)",
        chain.name
    );
    let listed = match node.ask("getSealerList", node.rpc.sealer_list()).await {
        Ok(listed) => listed,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!(
                    "cannot read the sealers of group {}: {}",
                    fisco.group,
                    e.text()
                ),
                format!("check that {} answers getSealerList", node.shown),
            ));
            return;
        }
    };
    let mode = fisco.sealers.mode();
    let mut on_chain = BTreeSet::new();
    for id in &listed {
        match NodeKey::from_hex(mode, id) {
            Ok(key) => {
                on_chain.insert(key);
            }
            Err(e) => {
                report.push(Problem::error(
                    subject(),
                    format!(
                        "the group's sealer {id} is not a {mode} node id ({e}): is the chain's \
                         crypto mode the configured one?"
                    ),
                    fix,
                ));
                return;
            }
        }
    }
    let configured: BTreeSet<NodeKey> = fisco.sealers.keys().copied().collect();
    if on_chain == configured {
        return;
    }
    let show = |keys: Vec<&NodeKey>| {
        keys.iter()
            .map(|k| k.to_hex())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = show(configured.difference(&on_chain).collect());
    let extra = show(on_chain.difference(&configured).collect());
    report.push(Problem::error(
        subject(),
        format!(
            "the sealers of group {} differ from chains.{}.sealers: configured but not sealing: \
             [{missing}]; sealing but not configured: [{extra}]",
            fisco.group, chain.name
        ),
        fix,
    ));
}

/// `address` holds `contract`'s code, answering `localDomain()` with the configured domain.
async fn contract(
    node: &FiscoNode,
    chain: &Chain,
    contract: Contract,
    address: EvmAddress,
    report: &mut Report,
) {
    let subject = || Subject::Chain(chain.name.clone());
    let name = contract.name();
    let key = format!("chains.{}.{}", chain.name, name.to_ascii_lowercase());
    let code = match node.ask("getCode", node.rpc.code(&address.0)).await {
        Ok(code) => code,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!("cannot read the {name}'s code at {address}: {}", e.text()),
                format!("check that {} answers getCode", node.shown),
            ));
            return;
        }
    };
    if !check_deployed(report, subject(), contract, &key, address, &code, "group") {
        return;
    }
    let call = IFiscoLocalDomain::localDomainCall {}.abi_encode();
    let answer = node
        .ask(
            "call localDomain",
            node.rpc.call_contract(&address.0, &call),
        )
        .await
        .map_err(Asked::text)
        .and_then(|out| {
            if out.status != 0 {
                return Err(format!("reverted (status {})", out.status));
            }
            IFiscoLocalDomain::localDomainCall::abi_decode_returns(&out.output)
                .map_err(|e| format!("answered 0x{} ({e})", hex::encode(&out.output)))
        });
    match answer {
        Ok(domain) if domain == chain.domain.0 => {}
        Ok(domain) => report.push(Problem::error(
            subject(),
            format!(
                "the {name} at {address} serves domain {domain}, but chains.{}.domain is {}",
                chain.name, chain.domain.0
            ),
            format!(
                "set {key} to the {name} deployed for domain {}, or chains.{}.domain = {domain}",
                chain.domain.0, chain.name
            ),
        )),
        Err(e) => report.push(Problem::error(
            subject(),
            format!("the {name} at {address} does not answer localDomain(): {e}"),
            format!("set {key} to a Causeway {name}"),
        )),
    }
}

/// The chain's signer key `i`, as a key of its crypto mode, or `None` (reason in `report`).
fn signer_key(
    chain: &Chain,
    fisco: &FiscoChain,
    i: usize,
    report: &mut Report,
) -> Option<NodeSecret> {
    let secret = read_signer_key(chain, i, report)?;
    let mode = fisco.sealers.mode();
    match NodeSecret::from_bytes(mode, secret.expose_secret()) {
        Ok(key) => Some(key),
        Err(e) => {
            report.push(Problem::error(
                Subject::Chain(chain.name.clone()),
                format!(
                    "chains.{}.signer_key_files[{i}] ({}) is not a {mode} secret key: {e}",
                    chain.name,
                    chain.signer_key_files[i].display()
                ),
                format!("write the account's 32-byte {mode} secret key as 64 hex digits"),
            ));
            None
        }
    }
}

/// The chain's `sender_key_file` as a key of its crypto mode (`Some(None)`: none configured),
/// or `None` (reason in `report`).
fn sender_key(
    chain: &Chain,
    fisco: &FiscoChain,
    report: &mut Report,
) -> Option<Option<NodeSecret>> {
    let Some(file) = &chain.sender_key_file else {
        return Some(None);
    };
    let mode = fisco.sealers.mode();
    let problem = |what: String| {
        Problem::error(
            Subject::Chain(chain.name.clone()),
            format!(
                "chains.{}.sender_key_file ({}): {what}",
                chain.name,
                file.display()
            ),
            format!(
                "write the sending account's 32-byte {mode} secret key as 64 hex digits (chmod 600)"
            ),
        )
    };
    let secret = match causeway_config::read_secret_key_file(file) {
        Ok(secret) => secret,
        Err(e) => {
            report.push(problem(e.to_string()));
            return None;
        }
    };
    match NodeSecret::from_bytes(mode, secret.expose_secret()) {
        Ok(key) => Some(Some(key)),
        Err(e) => {
            report.push(problem(format!("not a {mode} secret key: {e}")));
            None
        }
    }
}

/// The dispatcher's side of a FISCO BCOS chain with a `sender_key_file` (`None` without one):
/// its Outbox on every configured node, and the sender key. `Err` says what is wrong.
pub(crate) fn sender_origin(
    chain: &Chain,
    fisco: &FiscoChain,
) -> Result<Option<crate::private::dispatch::FiscoOrigin>, String> {
    let mut report = Report::default();
    let key = match sender_key(chain, fisco, &mut report) {
        Some(Some(key)) => key,
        Some(None) => return Ok(None),
        None => {
            return Err(report
                .errors()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "));
        }
    };
    let endpoints = chain
        .endpoints
        .iter()
        .map(|e| e.as_str().to_owned())
        .collect();
    let rpc = FiscoRpc::with_endpoints(endpoints, fisco.group.clone()).map_err(|e| {
        format!(
            "chains.{}.endpoints: {e} (fix: set the nodes' JSON-RPC URLs)",
            chain.name
        )
    })?;
    Ok(Some(crate::private::dispatch::FiscoOrigin::new(
        rpc,
        crate::private::dispatch::fisco::FiscoOriginConfig {
            chain_id: fisco.chain_id.clone(),
            group: fisco.group.clone(),
            outbox: fisco.outbox,
        },
        key,
    )))
}

/// The adapters of one FISCO BCOS chain, on every configured node (the one the probes chose
/// first, the others in turn when it fails).
pub(crate) struct FiscoAdapters {
    /// Its Outbox's committed messages, with their seals and receipt proofs.
    pub(crate) source: FiscoSource,
    /// Its Inbox, when this gateway has a signer key for the chain.
    pub(crate) destination: Option<FiscoDestination>,
    /// Contract calls at sealed heads.
    pub(crate) state: FiscoStateReader,
    /// Where the three count their requests to the group's nodes (for `/metrics`).
    pub(crate) metrics: ChainMetrics,
}

/// Builds the adapters of `chain` over all its endpoints, `node` (the first that passed the
/// probes) asked first: the source, its state reader and the destination, sending from every
/// signer key in turn (one delivery round per key, the next round the next key). They share
/// one client, so a failover found by one is used by all, and one [`ChainMetrics`].
pub(crate) fn build(
    chain: &Chain,
    fisco: &FiscoChain,
    node: &FiscoNode,
    report: &mut Report,
) -> Option<FiscoAdapters> {
    let adapter_error = |what: &str, e: causeway_adapters::Error| {
        Problem::error(
            Subject::Chain(chain.name.clone()),
            format!("cannot build the {what}: {e}"),
            format!("correct chains.{}", chain.name),
        )
    };
    let endpoints: Vec<String> = std::iter::once(node.url.clone())
        .chain(
            chain
                .endpoints
                .iter()
                .map(|e| e.as_str().to_owned())
                .filter(|e| *e != node.url),
        )
        .collect();
    let metrics = ChainMetrics::default();
    let rpc = match FiscoRpc::with_endpoints(endpoints, fisco.group.clone()) {
        Ok(rpc) => rpc.with_metrics(metrics.clone()),
        Err(e) => {
            report.push(adapter_error("client", e));
            return None;
        }
    };
    let source = FiscoSource::with_rpc(
        FiscoSourceConfig {
            endpoint: node.url.clone(),
            group: fisco.group.clone(),
            domain: chain.domain,
            outbox: fisco.outbox,
            sealers: fisco.sealers.clone(),
            range: DEFAULT_RANGE,
        },
        rpc.clone(),
    );
    let state = FiscoStateReader::with_rpc(rpc.clone(), fisco.sealers.clone());
    let destination = match chain.signer_key_files.len() {
        0 => None,
        n => {
            let keys = (0..n)
                .map(|i| signer_key(chain, fisco, i, report))
                .collect::<Option<Vec<_>>>()?;
            let config = FiscoDestinationConfig {
                endpoint: node.url.clone(),
                chain_id: fisco.chain_id.clone(),
                group: fisco.group.clone(),
                domain: chain.domain,
                inbox: fisco.inbox,
            };
            match FiscoDestination::with_keys(config, rpc.clone(), keys) {
                Ok(destination) => {
                    let senders: Vec<String> = destination
                        .senders()
                        .iter()
                        .map(|a| format!("0x{}", hex::encode(a)))
                        .collect();
                    tracing::info!(chain = %chain.name, senders = %senders.join(", "),
                        "deliveries to this chain are sent from these signer accounts in turn");
                    Some(destination)
                }
                Err(e) => {
                    report.push(adapter_error("destination", e));
                    return None;
                }
            }
        }
    };
    match source {
        Ok(source) => Some(FiscoAdapters {
            source,
            destination,
            state,
            metrics,
        }),
        Err(e) => {
            report.push(adapter_error("source", e));
            None
        }
    }
}
