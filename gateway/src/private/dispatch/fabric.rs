//! Dispatching through a Fabric channel's outbox chaincode as the configured sender identity:
//! `dispatch(destination, recipient, body)` endorsed, submitted, and followed to its commit.
//!
//! The outbox computes the message from the nonce key in world state, and every dispatch reads
//! and writes that key, so two dispatches of one nonce never both commit (the later one is
//! `MVCC_READ_CONFLICT`): a message id lands at most once. What must not happen is to take a
//! sealed message for lost while a transaction carrying it can still commit. So the proposal's
//! nonce, hence the transaction id (SHA-256 of nonce and creator), is derived from what the
//! store recorded (the request, its message id and the attempt): every submission of one
//! attempt is the same transaction, which Fabric commits at most once, its id is recorded
//! before it is submitted, and after a crash the dispatcher asks the peer how that transaction
//! committed, or proposes it again, instead of sealing anew.
//!
//! No expected-nonce entry point is needed here (EVM and FISCO BCOS call `dispatchAt`): the
//! endorsement shows the message id the outbox gives at the nonce it read (checked against the
//! sealed one in [`Origin::prepare`]), and the transaction commits only if that nonce key is
//! unchanged, once per transaction id, so a dispatch never lands under another nonce than the
//! one it was sealed for.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use causeway_adapters::fabric::client::EndorsedTransaction;
use causeway_adapters::fabric::request::{Invocation, NONCE_LEN};
use causeway_adapters::fabric::{
    FabricClient, SigningIdentity, TlsConfig, TransactionId, ValidationCode,
};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Hash32};
use sha2::{Digest as _, Sha256};

use super::{Found, Landing, Origin, Prepared, RECEIPT_TIMEOUT, Sealed};

/// How long the crash lookup waits for a transaction's commit: one recorded but not committed
/// by then is proposed again (the same id, so at most one of them commits).
pub const FIND_WAIT: Duration = Duration::from_secs(3);

/// Domain separation of the proposal nonces a dispatcher derives.
const NONCE_DOMAIN: &[u8] = b"causeway/fabric-dispatch/v1";

/// Where and as whom a Fabric origin dispatches.
#[derive(Clone)]
pub struct FabricOriginConfig {
    /// The peers' gateway endpoints (`https://host:port`), tried in order.
    pub endpoints: Vec<String>,
    /// TLS to the peers (CA, optional client identity).
    pub tls: TlsConfig,
    /// The sender identity: every proposal is signed by it, and the outbox names it as the
    /// messages' sender.
    pub sender: SigningIdentity,
    /// The channel.
    pub channel: String,
    /// The outbox chaincode.
    pub outbox_chaincode: String,
}

/// A Fabric channel's outbox chaincode and the identity dispatching through it. It connects to
/// a peer when first used (and again after a peer failed), so a peer that is down at start-up
/// delays sending without stopping the gateway.
pub struct FabricOrigin {
    config: FabricOriginConfig,
    sender: Address32,
    client: tokio::sync::Mutex<Option<FabricClient>>,
}

impl core::fmt::Debug for FabricOrigin {
    /// Never prints the key.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FabricOrigin")
            .field("channel", &self.config.channel)
            .field("mspid", &self.config.sender.identity().mspid())
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl FabricOrigin {
    /// The origin `config` describes (no peer contacted yet).
    pub fn new(config: FabricOriginConfig) -> Self {
        // The outbox's sender field: keccak-256 of the creator (its serialized identity).
        let sender = Address32(keccak256(config.sender.creator()).0);
        FabricOrigin {
            config,
            sender,
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// A client on the first peer that accepts us.
    async fn client(&self) -> Result<FabricClient> {
        let mut held = self.client.lock().await;
        if let Some(client) = held.as_ref() {
            return Ok(client.clone());
        }
        let mut errors = Vec::new();
        for endpoint in &self.config.endpoints {
            match FabricClient::connect(
                endpoint,
                self.config.tls.clone(),
                self.config.sender.clone(),
            )
            .await
            {
                Ok(client) => {
                    tracing::info!(endpoint, channel = %self.config.channel, "dispatcher connected to a Fabric peer");
                    *held = Some(client.clone());
                    return Ok(client);
                }
                Err(e) => errors.push(format!("{endpoint}: {e}")),
            }
        }
        bail!(
            "no Fabric peer accepted the connection ({})",
            errors.join("; ")
        )
    }

    /// Forgets the client after a failed call, so the next one reconnects (to another peer if
    /// this one is gone).
    async fn drop_client(&self) {
        *self.client.lock().await = None;
    }

    /// The invocation dispatching `body` for `sealed`.
    fn invocation(&self, sealed: &Sealed, body: &[u8]) -> Invocation {
        Invocation::new(
            &self.config.channel,
            &self.config.outbox_chaincode,
            "dispatch",
            vec![
                sealed.destination.0.to_string().into_bytes(),
                sealed.recipient.to_hex().into_bytes(),
                body.to_vec(),
            ],
        )
    }

    /// The transaction id every submission of this attempt of `sealed` has.
    fn tx_id(&self, sealed: &Sealed) -> TransactionId {
        TransactionId::derive(&proposal_nonce(sealed), self.config.sender.creator())
    }

    /// How transaction `tx` committed, waiting at most `wait` (`None`: not committed by then).
    async fn commit_of(
        &self,
        tx: &TransactionId,
        wait: Duration,
    ) -> Result<Option<ValidationCode>> {
        let client = self.client().await?;
        match tokio::time::timeout(wait, client.commit_status(tx, &self.config.channel)).await {
            Err(_) => Ok(None),
            Ok(Ok(status)) => Ok(Some(status.code)),
            Ok(Err(e)) => {
                self.drop_client().await;
                Err(anyhow!(e).context(format!("asking the peer how transaction {tx} committed")))
            }
        }
    }
}

/// The proposal nonce of an attempt: SHA-256 over a domain tag, the request's number, its
/// message id and the attempt, cut to Fabric's 24 bytes. The request number keeps two requests
/// that seal the same message (the same body for the same nonce after one failed) apart.
fn proposal_nonce(sealed: &Sealed) -> [u8; NONCE_LEN] {
    let digest = Sha256::new()
        .chain_update(NONCE_DOMAIN)
        .chain_update(sealed.request.0.to_be_bytes())
        .chain_update(sealed.message_id.0.0)
        .chain_update(sealed.attempt.to_be_bytes())
        .finalize();
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&digest[..NONCE_LEN]);
    nonce
}

/// A Fabric transaction id (64 hex digits) as the 32 bytes the store keeps.
fn tx_hash(tx: &TransactionId) -> Result<Hash32> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(&tx.0, &mut out)
        .with_context(|| format!("transaction id {tx} is not 64 hex digits"))?;
    Ok(Hash32(out))
}

impl Origin for FabricOrigin {
    type Transaction = EndorsedTransaction;

    fn sender(&self) -> Address32 {
        self.sender
    }

    async fn next_nonce(&self) -> Result<u64> {
        let client = self.client().await?;
        let invocation = Invocation::new(
            &self.config.channel,
            &self.config.outbox_chaincode,
            "nonce",
            vec![],
        );
        let response = match client.evaluate(&invocation, &[]).await {
            Ok(r) => r,
            Err(e) => {
                self.drop_client().await;
                return Err(anyhow!(e).context("evaluating the outbox's nonce"));
            }
        };
        if response.status != 200 {
            bail!(
                "the outbox's nonce answered status {}: {}",
                response.status,
                response.message
            );
        }
        std::str::from_utf8(&response.payload)
            .ok()
            .and_then(|t| t.parse().ok())
            .with_context(|| {
                format!(
                    "the outbox's nonce answered {:?}, not a decimal u64",
                    String::from_utf8_lossy(&response.payload)
                )
            })
    }

    /// How this attempt's transaction committed: VALID is the message on chain; any other code
    /// means it never will be under that id (the nonce moved, or the endorsement failed), so it
    /// is sealed again; not committed within [`FIND_WAIT`] means it is proposed again.
    async fn find(&self, sealed: &Sealed) -> Result<Found> {
        let tx = self.tx_id(sealed);
        Ok(match self.commit_of(&tx, FIND_WAIT).await? {
            Some(code) if code.is_valid() => Found::Landed(tx_hash(&tx)?),
            Some(code) => Found::Missed(format!(
                "transaction {tx} committed as {code}, not VALID; sealing again"
            )),
            None => Found::NotFound,
        })
    }

    /// Endorses this attempt's transaction and checks the outbox's answer: the message id it
    /// would dispatch must be the sealed one (otherwise another sender took the nonce).
    async fn prepare(&self, sealed: &Sealed, body: &[u8]) -> Result<Prepared<EndorsedTransaction>> {
        let client = self.client().await?;
        let invocation = self.invocation(sealed, body);
        let endorsed = match client
            .endorse_with_nonce(&invocation, &[], proposal_nonce(sealed))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                // A transaction committed since the lookup is refused as a duplicate here;
                // the next round's lookup finds it.
                self.drop_client().await;
                return Err(anyhow!(e).context("endorsing the dispatch"));
            }
        };
        let response = endorsed
            .chaincode_response()
            .context("reading the outbox's answer")?;
        if response.status != 200 {
            return Ok(Prepared::Missed(format!(
                "the outbox refused the dispatch (status {}): {}",
                response.status, response.message
            )));
        }
        if response.payload.as_slice() != sealed.message_id.0.0.as_slice() {
            return Ok(Prepared::Missed(format!(
                "the outbox would give the message another nonce than {} (another sender was \
                 first); sealing again",
                sealed.nonce
            )));
        }
        Ok(Prepared::Ready {
            tx: Some(tx_hash(&endorsed.tx_id)?),
            transaction: endorsed,
        })
    }

    /// Submits the endorsed transaction and waits for its commit.
    async fn broadcast(&self, _: &Sealed, endorsed: EndorsedTransaction) -> Result<Landing> {
        let client = self.client().await?;
        if let Err(e) = client.submit(&endorsed).await {
            self.drop_client().await;
            return Err(anyhow!(e).context("submitting the dispatch for ordering"));
        }
        let tx = &endorsed.tx_id;
        let code = self
            .commit_of(tx, RECEIPT_TIMEOUT)
            .await?
            .with_context(|| {
                format!("transaction {tx} was not committed within {RECEIPT_TIMEOUT:?}")
            })?;
        Ok(if code.is_valid() {
            Landing::Landed(tx_hash(tx)?)
        } else {
            Landing::Missed(format!(
                "transaction {tx} committed as {code}, not VALID (another dispatch committed \
                 first); sealing again"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use causeway_proofs::{Domain, MessageId};
    use causeway_relayer::store::SendRequestId;

    fn sealed(request: u64, id: u8, attempt: u32) -> Sealed {
        Sealed {
            request: SendRequestId(request),
            nonce: 7,
            message_id: MessageId(Hash32([id; 32])),
            attempt,
            tx: None,
            destination: Domain(2),
            recipient: Address32([0x22; 32]),
        }
    }

    #[test]
    fn an_attempt_always_proposes_the_same_transaction_and_no_other_does() {
        let base = proposal_nonce(&sealed(1, 1, 0));
        assert_eq!(base, proposal_nonce(&sealed(1, 1, 0)));
        for other in [sealed(2, 1, 0), sealed(1, 2, 0), sealed(1, 1, 1)] {
            assert_ne!(base, proposal_nonce(&other), "{other:?}");
        }
    }
}
