//! Applications' messages and private messages end to end (DESIGN.md "Privacy"):
//!
//! - [`Directory`]: the consortium's privacy keys by member, this gateway's own key, and each
//!   lane's auditors (who are recipients of every private message on it);
//! - [`body`]: the on-chain body of a private message (commitment, disclosed fields with
//!   proofs, the envelope's recipients) and its decoding, checked against the message;
//! - [`dispatch`]: the dispatcher that sends the requests `POST /v1/messages` recorded on the
//!   origin's Outbox, sealing private payloads for the nonce they get;
//! - [`fetch`]: each recipient gateway fetches the envelopes of private messages addressed to it
//!   from the other members over the peer protocol, and keeps them only once they opened
//!   against the chain's commitment.

pub mod body;
pub mod dispatch;
pub mod fetch;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use causeway_config::Config;
use causeway_privacy::{KeyId, KeyPair, PublicKey};
use causeway_relayer::store::Lane;

/// Who can read private messages: every member's privacy public key, this gateway's own key
/// pair, and the auditors of each lane.
pub struct Directory {
    own: String,
    key: Arc<KeyPair>,
    members: BTreeMap<String, PublicKey>,
    auditors: HashMap<Lane, Vec<String>>,
}

impl core::fmt::Debug for Directory {
    /// Never prints the key pair.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Directory")
            .field("own", &self.own)
            .field("members", &self.members.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// The directory `config` describes, with this gateway's privacy key read from its key file
    /// (checked against the published key of its member).
    pub fn from_config(config: &Config) -> Result<Self> {
        let path = &config.gateway().privacy_key_file;
        let secret = causeway_config::read_secret_key_file(path)
            .with_context(|| format!("reading the privacy key {}", path.display()))?;
        let key = KeyPair::from_secret_bytes(*secret.expose_secret());
        let mut members = BTreeMap::new();
        for m in config.members() {
            let pk =
                PublicKey::from_bytes(*m.privacy_public_key.as_bytes()).with_context(|| {
                    format!(
                        "member {}'s privacy_public_key is not an X25519 key",
                        m.name
                    )
                })?;
            members.insert(m.name.clone(), pk);
        }
        let own = config.own_member().name.clone();
        if members.get(&own) != Some(key.public_key()) {
            bail!(
                "the privacy key {} is not {own}'s published privacy_public_key (fix: point \
                 gateway.privacy_key_file at {own}'s key, or correct its [[members]] entry)",
                path.display()
            );
        }
        let auditors = config
            .lanes()
            .iter()
            .map(|l| {
                (
                    Lane {
                        origin: l.origin.domain,
                        destination: l.destination.domain,
                    },
                    l.auditors.clone(),
                )
            })
            .collect();
        Ok(Self::new(own, key, members, auditors))
    }

    /// A directory from its parts (tests, benchmarks).
    pub fn new(
        own: String,
        key: KeyPair,
        members: BTreeMap<String, PublicKey>,
        auditors: HashMap<Lane, Vec<String>>,
    ) -> Self {
        Directory {
            own,
            key: Arc::new(key),
            members,
            auditors,
        }
    }

    /// This gateway's member name.
    pub fn own(&self) -> &str {
        &self.own
    }

    /// This gateway's privacy key pair.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The public key of `member`.
    pub fn public_key(&self, member: &str) -> Option<&PublicKey> {
        self.members.get(member)
    }

    /// The member whose key has `id`.
    pub fn member_of(&self, id: &KeyId) -> Option<&str> {
        self.members
            .iter()
            .find(|(_, pk)| pk.key_id() == *id)
            .map(|(name, _)| name.as_str())
    }

    /// The configured members, by name.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.keys().map(String::as_str)
    }

    /// The auditors of `lane`.
    pub fn auditors(&self, lane: Lane) -> &[String] {
        self.auditors.get(&lane).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Who reads a private message on `lane` addressed to `recipients`: this gateway's member
    /// (the sender keeps access to what it sent), the recipients, then the lane's auditors, each
    /// once. `Err` names a recipient that is not a member.
    pub fn readers(&self, lane: Lane, recipients: &[String]) -> Result<Vec<String>, String> {
        let mut out = vec![self.own.clone()];
        for name in recipients.iter().chain(self.auditors(lane)) {
            if !self.members.contains_key(name) {
                return Err(name.clone());
            }
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        Ok(out)
    }

    /// The public keys of `readers` (member names; unknown names are skipped).
    pub fn keys_of(&self, readers: &[String]) -> Vec<PublicKey> {
        readers
            .iter()
            .filter_map(|r| self.members.get(r).copied())
            .collect()
    }
}

/// What [`start`] runs: the API's sending side, the peer server's envelope source, and the
/// tasks to wait for at shutdown.
pub struct Outbound {
    /// For the API ([`crate::api::start_with`]).
    pub sending: crate::api::send::Sending,
    /// For the peer server's `FetchEnvelope`.
    pub peer_source: Arc<dyn causeway_peer::EnvelopeSource>,
    /// The dispatchers and the envelope follower, each with its name for the log (they stop
    /// on the cancellation).
    pub tasks: Vec<(String, tokio::task::JoinHandle<()>)>,
}

impl core::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outbound")
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

/// Envelope fetches tried per private message before the follower leaves it to the decrypt
/// route (one per poll).
pub const FETCH_ATTEMPTS: u32 = 120;

/// Starts what sending and private messages need for `config`: one dispatcher per chain with a
/// `sender_key_file` (an EVM or FISCO BCOS Outbox, or a Fabric outbox chaincode), the envelope follower, and the API's sending side; all stop on `cancel`.
/// The dispatchers lease send requests as `lease.0` (the replica's name) for `lease.1`, so
/// replicas on one store never dispatch one request twice.
pub fn start(
    config: &Config,
    store: Arc<dyn causeway_relayer::store::Store>,
    peer: &causeway_peer::PeerConfig,
    poll: std::time::Duration,
    lease: (causeway_relayer::store::LeaseOwner, std::time::Duration),
    cancel: tokio_util::sync::CancellationToken,
) -> Result<Outbound> {
    let directory = Arc::new(Directory::from_config(config)?);
    let fetcher = causeway_peer::EnvelopeFetcher::new(peer)
        .context("the peer protocol's settings for fetching envelopes")?;
    let envelopes =
        fetch::Envelopes::new(Arc::clone(&store), Arc::clone(&directory), Some(fetcher));
    let mut tasks = Vec::new();
    let replace_after = config.relaying().send_replace_after;
    let mut origins = std::collections::HashSet::new();
    for chain in config.chains() {
        let Some(key_file) = &chain.sender_key_file else {
            continue;
        };
        let fix = |e: String| {
            anyhow::anyhow!(e).context(format!(
                "the dispatcher of chain {} (fix: correct its sender settings, or remove \
                 sender_key_file so this gateway does not send from it)",
                chain.name
            ))
        };
        let task = match &chain.kind {
            causeway_config::ChainKind::Evm(evm) => {
                let secret = causeway_config::read_secret_key_file(key_file)
                    .with_context(|| format!("reading the sender key {}", key_file.display()))?;
                let endpoint = chain
                    .endpoints
                    .first()
                    .with_context(|| format!("chain {} has no endpoint", chain.name))?;
                let dispatcher = dispatch::Dispatcher::new(
                    Arc::clone(&store),
                    chain.domain,
                    endpoint.as_str(),
                    evm.outbox,
                    secret.expose_secret(),
                    Arc::clone(&directory),
                    poll,
                )
                .with_context(|| format!("the dispatcher of chain {}", chain.name))?
                .leased_as(lease.0.clone(), lease.1)
                .replacing_after(replace_after);
                spawn(&chain.name, dispatcher, &cancel)
            }
            causeway_config::ChainKind::Fabric(fabric) => {
                let Some(origin) = crate::wiring::fabric_sender(chain, fabric).map_err(fix)? else {
                    continue;
                };
                let origin = dispatch::FabricOrigin::new(origin);
                let dispatcher = dispatch::Dispatcher::with_origin(
                    Arc::clone(&store),
                    chain.domain,
                    origin,
                    Arc::clone(&directory),
                    poll,
                )
                .leased_as(lease.0.clone(), lease.1)
                .replacing_after(replace_after);
                spawn(&chain.name, dispatcher, &cancel)
            }
            causeway_config::ChainKind::Fisco(fisco) => {
                let Some(origin) = crate::wiring::fisco_sender(chain, fisco).map_err(fix)? else {
                    continue;
                };
                let dispatcher = dispatch::Dispatcher::with_origin(
                    Arc::clone(&store),
                    chain.domain,
                    origin,
                    Arc::clone(&directory),
                    poll,
                )
                .leased_as(lease.0.clone(), lease.1)
                .replacing_after(replace_after);
                spawn(&chain.name, dispatcher, &cancel)
            }
            _ => bail!(
                "chains.{}.sender_key_file: this build cannot dispatch on a {} chain (fix: \
                 remove sender_key_file from this chain)",
                chain.name,
                chain.family()
            ),
        };
        origins.insert(chain.domain);
        tasks.push((format!("the dispatcher of chain {}", chain.name), task));
    }
    let lanes = config
        .lanes()
        .iter()
        .map(|l| Lane {
            origin: l.origin.domain,
            destination: l.destination.domain,
        })
        .collect();
    tasks.push((
        "the envelope follower".to_owned(),
        tokio::spawn(envelopes.clone().follow(poll, FETCH_ATTEMPTS, cancel)),
    ));
    Ok(Outbound {
        sending: crate::api::send::Sending::start(store, origins, lanes, envelopes.clone()),
        peer_source: Arc::new(fetch::StoredEnvelopes(envelopes)),
        tasks,
    })
}

/// Runs `dispatcher` of chain `name` until `cancel` fires.
fn spawn<O: dispatch::Origin>(
    name: &str,
    dispatcher: dispatch::Dispatcher<O>,
    cancel: &tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tracing::info!(chain = %name, sender = %dispatcher.sender(), "dispatching applications' messages");
    tokio::spawn(dispatcher.run(cancel.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_proofs::Domain;

    #[test]
    fn readers_are_the_sender_the_recipients_and_the_auditors_once_each() {
        let lane = Lane {
            origin: Domain(1),
            destination: Domain(2),
        };
        let own = KeyPair::generate();
        let members = ["org1", "org2", "org3"]
            .into_iter()
            .map(|n| (n.to_owned(), *KeyPair::generate().public_key()))
            .chain([("org0".to_owned(), *own.public_key())])
            .collect();
        let d = Directory::new(
            "org0".into(),
            own,
            members,
            [(lane, vec!["org3".to_owned()])].into(),
        );
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            d.readers(lane, &names(&["org2", "org3", "org0"])),
            Ok(names(&["org0", "org2", "org3"]))
        );
        assert_eq!(
            d.readers(lane, &names(&["org1"])),
            Ok(names(&["org0", "org1", "org3"]))
        );
        let back = Lane {
            origin: Domain(2),
            destination: Domain(1),
        };
        assert_eq!(
            d.readers(back, &names(&["org1"])),
            Ok(names(&["org0", "org1"]))
        );
        assert_eq!(
            d.readers(lane, &names(&["nobody"])),
            Err("nobody".to_owned())
        );
        assert_eq!(d.member_of(&d.key().key_id()), Some("org0"));
    }
}
