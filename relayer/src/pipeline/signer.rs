//! [`SignatureCollector`]: how the attest stage gets validator signatures over a checkpoint.
//!
//! [`LocalSigner`] (this gateway's key, 1-of-1) and [`MultiSigner`] (n local keys, for tests of
//! m-of-n lanes) return every signature from [`SignatureCollector::collect`]. A networked
//! collector (crate `causeway-peer`) signs with this gateway's key in `collect`, sends that
//! signature to the other members, and hands theirs to the attest stage through
//! [`SignatureCollector::subscribe`]; the attest stage co-signs a member's checkpoint only once
//! its own log reaches that size and the root it rebuilt itself is the same (a gateway never signs
//! a root it was handed).

use causeway_adapters::chain::BoxFuture;
use causeway_proofs::{Checkpoint, SigningDomain, ValidatorKey};
use tokio::sync::mpsc;

use crate::store::ValidatorSignature;
use crate::store::{Lane, Result};

/// A checkpoint to sign for one lane.
#[derive(Clone, Copy, Debug)]
pub struct SignatureRequest {
    /// The checkpoint, built by the attest stage from the root it rebuilt itself from its own
    /// copy of the origin's log (never one received from elsewhere).
    pub checkpoint: Checkpoint,
    /// The lane's signing domain.
    pub domain: SigningDomain,
}

impl SignatureRequest {
    /// The lane the request is for (the signing domain's origin and destination).
    pub fn lane(&self) -> Lane {
        Lane {
            origin: self.domain.origin,
            destination: self.domain.destination,
        }
    }
}

/// One validator's signature over a checkpoint of a lane, as another member's gateway sent it.
/// Nothing about it is trusted: the attest stage recovers the signer with the lane's own signing
/// domain, and counts it only for a root it rebuilt itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSignature {
    /// The checkpoint the validator signed.
    pub checkpoint: Checkpoint,
    /// The validator it claims to be, and its signature.
    pub signature: ValidatorSignature,
}

/// Gathers validator signatures over a checkpoint. The attest stage recovers and checks each
/// returned signature against the lane's validator set before recording it, so a collector
/// may return signatures of any origin (peers); unknown or invalid ones are dropped.
pub trait SignatureCollector: Send + Sync {
    /// Signatures over `request.checkpoint` for `request.domain`, in any order: this gateway's
    /// own (a networked collector also sends it to the other members), and any others it has.
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, Result<Vec<ValidatorSignature>>>;

    /// The signatures other members' validators make over checkpoints of `lane`, as they
    /// arrive, for a collector that talks to other gateways; `None` (the default) for one that
    /// returns every signature from [`SignatureCollector::collect`]. The relayer calls it once
    /// per lane when it starts; the channel should be bounded (the attest stage reads it as
    /// fast as it can check signatures, so a full channel slows the sender down).
    fn subscribe(&self, lane: Lane) -> Option<mpsc::Receiver<PeerSignature>> {
        let _ = lane;
        None
    }
}

/// This gateway's own key: 1-of-1 signing.
#[derive(Debug)]
pub struct LocalSigner {
    key: ValidatorKey,
}

impl LocalSigner {
    /// A signer with `key` (its `Debug` is redacted).
    pub fn new(key: ValidatorKey) -> Self {
        LocalSigner { key }
    }
}

impl SignatureCollector for LocalSigner {
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, Result<Vec<ValidatorSignature>>> {
        let signature = ValidatorSignature {
            validator: self.key.address(),
            signature: self
                .key
                .sign_checkpoint(&request.checkpoint, &request.domain),
        };
        Box::pin(async move { Ok(vec![signature]) })
    }
}

/// Several local keys (a test stand-in for gateways exchanging signatures).
#[derive(Debug)]
pub struct MultiSigner {
    keys: Vec<ValidatorKey>,
}

impl MultiSigner {
    /// A signer with every key in `keys`.
    pub fn new(keys: Vec<ValidatorKey>) -> Self {
        MultiSigner { keys }
    }
}

impl SignatureCollector for MultiSigner {
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, Result<Vec<ValidatorSignature>>> {
        let signatures = self
            .keys
            .iter()
            .map(|key| ValidatorSignature {
                validator: key.address(),
                signature: key.sign_checkpoint(&request.checkpoint, &request.domain),
            })
            .collect();
        Box::pin(async move { Ok(signatures) })
    }
}
