//! [`SignatureCollector`]: how the attest stage gets validator signatures over a checkpoint.
//!
//! Today: [`LocalSigner`] (this gateway's key, 1-of-1) and [`MultiSigner`] (n local keys, for
//! tests of m-of-n lanes). Later: a collector that exchanges signatures with the other gateways
//! over the peer protocol; each peer must rebuild the root from its own view of the origin
//! before signing (a gateway never signs a root it was handed).

use causeway_adapters::chain::BoxFuture;
use causeway_proofs::{Checkpoint, SigningDomain, ValidatorKey};

use crate::store::Result;
use crate::store::ValidatorSignature;

/// A checkpoint to sign for one lane.
#[derive(Clone, Copy, Debug)]
pub struct SignatureRequest {
    /// The checkpoint, built by the attest stage from the root it rebuilt itself from its own
    /// copy of the origin's log (never one received from elsewhere).
    pub checkpoint: Checkpoint,
    /// The lane's signing domain.
    pub domain: SigningDomain,
}

/// Gathers validator signatures over a checkpoint. The attest stage recovers and checks each
/// returned signature against the lane's validator set before recording it, so a collector
/// may return signatures of any origin (peers); unknown or invalid ones are dropped.
pub trait SignatureCollector: Send + Sync {
    /// Signatures over `request.checkpoint` for `request.domain`, in any order.
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, Result<Vec<ValidatorSignature>>>;
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
