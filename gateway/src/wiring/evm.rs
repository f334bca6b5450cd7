//! EVM chains: the startup probes of a node (reachable, right chain, Causeway contracts with
//! the configured domain, signer accounts funded, the validator sets its Inbox holds) and the
//! adapters built from a `[chains.*]` entry of family `evm`.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, Bytes};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use alloy::transports::http::reqwest;
use causeway_adapters::chain::DynDestination;
use causeway_adapters::evm::bindings::IInbox;
use causeway_adapters::evm::{
    EvmDestination, EvmDestinationConfig, EvmSignerPool, EvmSource, EvmSourceConfig,
    EvmStateReader, Finality as AdapterFinality, RpcConfig,
};
use causeway_adapters::metrics::ChainMetrics;
use causeway_adapters::redact_endpoint;
use causeway_config::{Chain, EvmChain, Finality, Secret32};
use causeway_proofs::{Domain, EvmAddress};

use super::code::{Contract, check_deployed};
use super::problem::{Problem, Report, Subject};
use super::validators::OnChainSet;

alloy::sol! {
    /// The immutable both the Outbox and the Inbox expose (the adapters' bindings list only
    /// what the relayer calls).
    interface ILocalDomain {
        function localDomain() external view returns (uint32);
    }
}

/// Time one probe request may take, connection included: a startup check must not hang on a
/// node that accepts connections and never answers.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// An EVM node that answered the probes with the configured chain id.
#[derive(Clone, Debug)]
pub(crate) struct EvmNode {
    provider: RootProvider,
    /// The URL as configured (may carry credentials: never shown).
    url: String,
    /// The URL without credentials, path or query.
    shown: String,
    /// The chain's signer keys (by index in `signer_key_files`) whose accounts had no funds
    /// when probed: they send nothing while a funded key remains.
    unfunded: Vec<usize>,
}

/// A JSON-RPC provider for the node at `url` (http or https only, each request bounded by
/// `timeout`) and the URL as logs may show it; `only` ends the refusal of another scheme
/// ("only http and https endpoints {only}").
pub(crate) fn http_provider(
    url: &str,
    timeout: Duration,
    only: &str,
) -> Result<(RootProvider, String), String> {
    let shown = redact_endpoint(url);
    let parsed: reqwest::Url = url
        .parse()
        .map_err(|e| format!("{shown} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{shown}: only http and https endpoints {only}"));
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let provider = RootProvider::new(RpcClient::new_http_with_client(client, parsed));
    Ok((provider, shown))
}

impl EvmNode {
    fn connect(url: &str) -> Result<Self, String> {
        let (provider, shown) = http_provider(url, PROBE_TIMEOUT, "are supported for EVM chains")?;
        Ok(EvmNode {
            provider,
            url: url.to_owned(),
            shown,
            unfunded: Vec::new(),
        })
    }

    /// The URL as configured, for the adapters (never log it).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Runs `request`, bounded by [`PROBE_TIMEOUT`]; errors without the URL's secrets.
    async fn ask<T, E: core::fmt::Display>(
        &self,
        method: &str,
        request: impl core::future::IntoFuture<Output = Result<T, E>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(PROBE_TIMEOUT, request).await {
            Ok(Ok(value)) => Ok(value),
            // Problems scrub every URL in their text; this one may quote ours in full.
            Ok(Err(e)) => Err(format!("{method} failed: {e}")),
            Err(_) => Err(format!(
                "{method} got no answer within {} s",
                PROBE_TIMEOUT.as_secs()
            )),
        }
    }

    async fn chain_id(&self) -> Result<u64, String> {
        self.ask("eth_chainId", self.provider.get_chain_id()).await
    }

    async fn code(&self, address: Address) -> Result<Bytes, String> {
        self.ask("eth_getCode", self.provider.get_code_at(address))
            .await
    }

    async fn balance_is_zero(&self, address: Address) -> Result<bool, String> {
        self.ask("eth_getBalance", self.provider.get_balance(address))
            .await
            .map(|b| b.is_zero())
    }

    /// `eth_call` of `call` on `to`, decoded.
    async fn view<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return, String> {
        let request = TransactionRequest::default()
            .to(to)
            .input(Bytes::from(call.abi_encode()).into());
        let output = self.ask(C::SIGNATURE, self.provider.call(request)).await?;
        C::abi_decode_returns(&output)
            .map_err(|e| format!("{} answered {output} ({e})", C::SIGNATURE))
    }

    /// The validator set the Inbox at `inbox` holds for `origin`.
    pub(crate) async fn validator_set(
        &self,
        inbox: Address,
        origin: Domain,
    ) -> Result<OnChainSet, String> {
        let set = self
            .view(inbox, &IInbox::validatorSetCall { origin: origin.0 })
            .await?;
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

/// An alloy address from the configuration's.
pub(crate) fn alloy_address(address: EvmAddress) -> Address {
    Address::from(address.0)
}

/// Probes every endpoint of an EVM chain and, on the first that serves the configured chain,
/// its contracts and signer accounts. Returns that node, or `None` when none answered as it
/// should (the reasons are in `report`).
pub(crate) async fn probe(chain: &Chain, evm: &EvmChain, report: &mut Report) -> Option<EvmNode> {
    let subject = || Subject::Chain(chain.name.clone());
    let mut good = None;
    // An endpoint that does not answer is an error only when none does: with another node up,
    // the gateway starts, and the adapters fail over to it when it comes back (`Rpc::once`).
    let mut unreachable = Vec::new();
    for endpoint in &chain.endpoints {
        let node = match EvmNode::connect(endpoint.as_str()) {
            Ok(node) => node,
            Err(e) => {
                report.push(Problem::error(
                    subject(),
                    e,
                    format!("correct chains.{}.endpoints", chain.name),
                ));
                continue;
            }
        };
        match node.chain_id().await {
            Err(e) => unreachable.push((
                format!("endpoint {} is unreachable: {e}", node.shown),
                format!(
                    "start the node or correct chains.{}.endpoints (or CAUSEWAY_CHAIN_{}_ENDPOINTS)",
                    chain.name,
                    env_name(&chain.name)
                ),
            )),
            Ok(id) if id != evm.chain_id => report.push(Problem::error(
                subject(),
                format!(
                    "endpoint {} serves chain id {id}, but chains.{}.chain_id is {}",
                    node.shown, chain.name, evm.chain_id
                ),
                format!(
                    "point the endpoint at a node of chain {} or, if the configuration is wrong, \
                     set chains.{}.chain_id = {id}",
                    evm.chain_id, chain.name
                ),
            )),
            Ok(_) => {
                if good.is_none() {
                    good = Some(node);
                }
            }
        }
    }
    for (what, fix) in unreachable {
        report.push(if good.is_some() {
            Problem::warning(
                subject(),
                format!("{what}; the chain's other endpoints serve it until it answers"),
                fix,
            )
        } else {
            Problem::error(subject(), what, fix)
        });
    }
    let mut node = good?;
    contract(&node, chain, Contract::Outbox, evm.outbox, report).await;
    contract(&node, chain, Contract::Inbox, evm.inbox, report).await;
    if let Some(anchor) = evm.anchor {
        contract(&node, chain, Contract::Anchor, anchor, report).await;
    }
    node.unfunded = signers(&node, chain, report).await;
    Some(node)
}

/// Checks that `address` holds `contract`'s code and, for the Outbox and Inbox, that it
/// answers `localDomain()` with the chain's configured domain.
async fn contract(
    node: &EvmNode,
    chain: &Chain,
    contract: Contract,
    address: EvmAddress,
    report: &mut Report,
) {
    let subject = || Subject::Chain(chain.name.clone());
    let name = contract.name();
    let key = format!("chains.{}.{}", chain.name, name.to_ascii_lowercase());
    let at = alloy_address(address);
    let code = match node.code(at).await {
        Ok(code) => code,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!("cannot read the {name}'s code at {address}: {e}"),
                format!("check that {} answers eth_getCode", node.shown),
            ));
            return;
        }
    };
    if !check_deployed(report, subject(), contract, &key, address, &code, "chain") {
        return;
    }
    if contract == Contract::Anchor {
        return;
    }
    let local = node.view(at, &ILocalDomain::localDomainCall {}).await;
    match local {
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

/// Reads every signer key file and warns about accounts without funds; returns the indexes
/// of those (they send nothing while a funded key remains, see [`build`]).
async fn signers(node: &EvmNode, chain: &Chain, report: &mut Report) -> Vec<usize> {
    let mut unfunded = Vec::new();
    let several = chain.signer_key_files.len() > 1;
    for (i, file) in chain.signer_key_files.iter().enumerate() {
        let key = format!("chains.{}.signer_key_files[{i}]", chain.name);
        let Some(address) = signer_address(chain, i, report) else {
            continue;
        };
        match node.balance_is_zero(alloy_address(address)).await {
            Ok(true) => {
                unfunded.push(i);
                let consequence = if several {
                    "it sends no deliveries while another signer key of the chain has funds"
                } else {
                    "its deliveries would fail"
                };
                report.push(Problem::warning(
                    Subject::Chain(chain.name.clone()),
                    format!(
                        "the signer account {address} ({key}, {}) has no funds: {consequence}",
                        file.display()
                    ),
                    format!("send gas money to {address} on this chain (then restart the gateway)"),
                ))
            }
            Ok(false) => {}
            Err(e) => report.push(Problem::error(
                Subject::Chain(chain.name.clone()),
                format!("cannot read the balance of signer account {address}: {e}"),
                format!("check that {} answers eth_getBalance", node.shown),
            )),
        }
    }
    unfunded
}

/// The account of the chain's signer key `i`, or `None` (with the reason in `report`).
fn signer_address(chain: &Chain, i: usize, report: &mut Report) -> Option<EvmAddress> {
    let secret = read_signer_key(chain, i, report)?;
    match causeway_proofs::ValidatorKey::from_bytes(secret.expose_secret()) {
        Ok(key) => Some(key.address()),
        Err(_) => {
            report.push(Problem::error(
                Subject::Chain(chain.name.clone()),
                format!(
                    "chains.{}.signer_key_files[{i}] ({}) is not a secp256k1 secret key",
                    chain.name,
                    chain.signer_key_files[i].display()
                ),
                "write the account's 32-byte secp256k1 key as 64 hex digits",
            ));
            None
        }
    }
}

/// Reads the chain's signer key `i` through the configuration's key file reader.
pub(crate) fn read_signer_key(chain: &Chain, i: usize, report: &mut Report) -> Option<Secret32> {
    let file = &chain.signer_key_files[i];
    match causeway_config::read_secret_key_file(file) {
        Ok(secret) => Some(secret),
        Err(e) => {
            report.push(Problem::error(
                Subject::Chain(chain.name.clone()),
                format!("chains.{}.signer_key_files[{i}]: {e}", chain.name),
                format!(
                    "make {} a readable key file of this chain's signer account",
                    file.display()
                ),
            ));
            None
        }
    }
}

/// The adapters' finality from the configuration's (EVM chains never have `on-commit`; the
/// configuration refuses it).
fn finality(chain: &Chain) -> Result<AdapterFinality, Problem> {
    match chain.finality {
        Finality::Confirmations(n) => Ok(AdapterFinality::Confirmations(n.get())),
        Finality::Finalized => Ok(AdapterFinality::FinalizedTag),
        _ => Err(Problem::error(
            Subject::Chain(chain.name.clone()),
            format!(
                "finality {:?} does not apply to an EVM chain",
                chain.finality
            ),
            format!(
                "set chains.{}.finality = {{ confirmations = N }} or {{ tag = \"finalized\" }}",
                chain.name
            ),
        )),
    }
}

/// The adapters of one EVM chain, on the node the probes chose.
pub(crate) struct EvmAdapters {
    /// Its Outbox's final messages, read from height 0 when the store has no cursor.
    pub(crate) source: EvmSource,
    /// Its Inbox, when this gateway has a signer key for the chain: one account, or a pool of
    /// them sending in turns.
    pub(crate) destination: Option<Arc<dyn DynDestination>>,
    /// Storage reads with proofs.
    pub(crate) state: EvmStateReader,
    /// Where the three count their requests to the chain's nodes (for `/metrics`).
    pub(crate) metrics: ChainMetrics,
}

/// Builds the adapters of `chain` on `node` (the first endpoint that passed the probes), with
/// the chain's other endpoints as fallbacks the adapters move to when a node fails: the
/// source, its state reader and the destination, sending from every funded signer key (one
/// [`EvmDestination`] per account, several in an [`EvmSignerPool`]: one delivery round per
/// account at a time, nonces per account). Keys without funds send nothing while a funded one
/// remains (the probes warned about them); the log says which accounts send.
pub(crate) fn build(
    chain: &Chain,
    evm: &EvmChain,
    node: &EvmNode,
    report: &mut Report,
) -> Option<EvmAdapters> {
    let subject = || Subject::Chain(chain.name.clone());
    let finality = match finality(chain) {
        Ok(f) => f,
        Err(problem) => {
            report.push(problem);
            return None;
        }
    };
    let adapter_error = |what: &str, e: causeway_adapters::Error| {
        Problem::error(
            subject(),
            format!("cannot build the {what}: {e}"),
            format!("correct chains.{}", chain.name),
        )
    };
    let metrics = ChainMetrics::default();
    let fallbacks: Vec<String> = chain
        .endpoints
        .iter()
        .map(|e| e.as_str().to_owned())
        .filter(|e| e != node.url())
        .collect();
    let mut source_config = EvmSourceConfig::new(
        node.url(),
        chain.domain,
        alloy_address(evm.outbox),
        finality,
    );
    source_config.rpc.metrics = metrics.clone();
    source_config.rpc.fallbacks = fallbacks.clone();
    let source = EvmSource::new(source_config);
    let mut state_rpc = RpcConfig::new(node.url());
    state_rpc.metrics = metrics.clone();
    state_rpc.fallbacks = fallbacks.clone();
    let state = EvmStateReader::new(state_rpc, finality);
    let destination = match signer_accounts(chain, node) {
        keys if keys.is_empty() => None,
        keys => {
            let mut members = Vec::with_capacity(keys.len());
            for i in keys {
                let secret = read_signer_key(chain, i, report)?;
                let mut config =
                    EvmDestinationConfig::new(node.url(), chain.domain, alloy_address(evm.inbox));
                config.chain_id = Some(evm.chain_id);
                config.rpc.metrics = metrics.clone();
                config.rpc.fallbacks = fallbacks.clone();
                match EvmDestination::new(config, secret.expose_secret()) {
                    Ok(d) => members.push(d),
                    Err(e) => {
                        report.push(adapter_error("destination", e));
                        return None;
                    }
                }
            }
            let senders: Vec<String> = members.iter().map(|d| d.address().to_string()).collect();
            tracing::info!(chain = %chain.name, senders = %senders.join(", "),
                "deliveries to this chain are sent from these signer accounts, one round per \
                 account at a time");
            if members.len() == 1 {
                members
                    .pop()
                    .map(|d| Arc::new(d) as Arc<dyn DynDestination>)
            } else {
                match EvmSignerPool::new(members) {
                    Ok(pool) => Some(Arc::new(pool) as Arc<dyn DynDestination>),
                    Err(e) => {
                        report.push(adapter_error("destination", e));
                        return None;
                    }
                }
            }
        }
    };
    match (source, state) {
        (Ok(source), Ok(state)) => Some(EvmAdapters {
            source,
            destination,
            state,
            metrics,
        }),
        (Err(e), _) => {
            report.push(adapter_error("source", e));
            None
        }
        (_, Err(e)) => {
            report.push(adapter_error("state reader", e));
            None
        }
    }
}

/// The signer keys (indexes in `signer_key_files`) that send the chain's deliveries: every
/// funded one, or every one when none is funded (their deliveries fail, as the probes warned).
fn signer_accounts(chain: &Chain, node: &EvmNode) -> Vec<usize> {
    let all = 0..chain.signer_key_files.len();
    let funded: Vec<usize> = all.clone().filter(|i| !node.unfunded.contains(i)).collect();
    if funded.is_empty() {
        all.collect()
    } else {
        funded
    }
}

/// A chain name as environment variables spell it: `evm-a` → `EVM_A`.
pub(crate) fn env_name(chain: &str) -> String {
    chain.to_ascii_uppercase().replace('-', "_")
}
