//! The configured validator set and the m-of-n check over distinct members.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{EvmAddress, Signature, recover};
use crate::{Error, Hash32};

/// The validators whose signatures count, and how many distinct ones make a checkpoint final.
///
/// Only [`ValidatorSet::new`] makes one (deserialisation goes through it), so a set that exists is
/// non-empty, has no zero address and no duplicate, and has `1 <= threshold <= len` (the Ronin 2024
/// failure was a threshold that had silently become zero). Members are kept sorted ascending,
/// the order signatures must come in.
///
/// JSON: `{"validators":["0x…","0x…"],"threshold":2}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ValidatorSetJson", into = "ValidatorSetJson")]
pub struct ValidatorSet {
    members: Vec<EvmAddress>,
    threshold: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorSetJson {
    validators: Vec<EvmAddress>,
    threshold: usize,
}

impl TryFrom<ValidatorSetJson> for ValidatorSet {
    type Error = Error;
    fn try_from(j: ValidatorSetJson) -> Result<Self, Error> {
        ValidatorSet::new(j.validators, j.threshold)
    }
}

impl From<ValidatorSet> for ValidatorSetJson {
    fn from(s: ValidatorSet) -> Self {
        ValidatorSetJson {
            validators: s.members,
            threshold: s.threshold,
        }
    }
}

impl ValidatorSet {
    /// A validator set; [`Error::InvalidValidatorSet`] if `members` is empty, contains the zero
    /// address or a duplicate, or if `threshold` is 0 or larger than the number of members.
    pub fn new(mut members: Vec<EvmAddress>, threshold: usize) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidValidatorSet { reason };
        if members.is_empty() {
            return Err(invalid("no validators".to_owned()));
        }
        if members.iter().any(EvmAddress::is_zero) {
            return Err(invalid(
                "the zero address can never be a validator".to_owned(),
            ));
        }
        members.sort_unstable();
        if let Some(pair) = members.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!("validator {} is listed twice", pair[0])));
        }
        if threshold == 0 {
            return Err(invalid(
                "threshold 0 would accept a checkpoint with no signature".to_owned(),
            ));
        }
        if threshold > members.len() {
            return Err(invalid(format!(
                "threshold {threshold} exceeds the {} validators",
                members.len()
            )));
        }
        Ok(ValidatorSet { members, threshold })
    }

    /// The members, ascending.
    pub fn members(&self) -> &[EvmAddress] {
        &self.members
    }

    /// Distinct member signatures needed.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a set that exists has members. (Present for API symmetry with `len`.)
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `address` is a member.
    pub fn contains(&self, address: &EvmAddress) -> bool {
        self.members.binary_search(address).is_ok()
    }
}

/// The outcome of a successful [`verify_attestations`]: which validators signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedQuorum {
    signers: Vec<EvmAddress>,
    threshold: usize,
}

impl VerifiedQuorum {
    /// The distinct signers, ascending.
    pub fn signers(&self) -> &[EvmAddress] {
        &self.signers
    }
    /// How many distinct validators signed.
    pub fn count(&self) -> usize {
        self.signers.len()
    }
    /// The threshold they met.
    pub fn threshold(&self) -> usize {
        self.threshold
    }
}

/// Checks that `signatures` over `digest` come from at least `set.threshold()` distinct members.
///
/// Rules, in the order applied to each signature (the first failure fails everything):
/// well-formed and low-s ([`recover`]), signer is a member ([`Error::UnknownValidator`]), signer
/// not seen before ([`Error::DuplicateSigner`]), signer above the previous one
/// ([`Error::SignersNotAscending`]); then at least `threshold` signatures
/// ([`Error::BelowThreshold`]).
///
/// Security: counting distinct *signers*, not signatures, is what stops one key counting twice
/// (repeated bytes, a second RFC 6979-independent signature, or a malleated twin). Requiring
/// ascending order also bounds the work: at most `set.len() + 1` recoveries before a list fails.
pub fn verify_attestations(
    set: &ValidatorSet,
    digest: &Hash32,
    signatures: &[Signature],
) -> Result<VerifiedQuorum, Error> {
    let mut signers: Vec<EvmAddress> = Vec::with_capacity(signatures.len().min(set.len()));
    let mut seen = BTreeSet::new();
    for (position, sig) in signatures.iter().enumerate() {
        let signer = recover(digest, sig, position)?;
        if !set.contains(&signer) {
            return Err(Error::UnknownValidator {
                position,
                address: signer.to_hex(),
            });
        }
        if !seen.insert(signer) {
            return Err(Error::DuplicateSigner {
                position,
                address: signer.to_hex(),
            });
        }
        if signers.last().is_some_and(|prev| *prev >= signer) {
            return Err(Error::SignersNotAscending { position });
        }
        signers.push(signer);
    }
    if signers.len() < set.threshold() {
        return Err(Error::BelowThreshold {
            valid: signers.len(),
            threshold: set.threshold(),
        });
    }
    Ok(VerifiedQuorum {
        signers,
        threshold: set.threshold(),
    })
}

/// Puts signatures collected from peers into the order [`verify_attestations`] requires:
/// ascending by recovered signer, keeping only the first signature of each signer. Fails on the
/// first signature [`recover`] rejects. Membership is not checked here.
pub fn order_signatures(
    digest: &Hash32,
    signatures: &[Signature],
) -> Result<Vec<Signature>, Error> {
    let mut by_signer = std::collections::BTreeMap::new();
    for (position, sig) in signatures.iter().enumerate() {
        let signer = recover(digest, sig, position)?;
        by_signer.entry(signer).or_insert(*sig);
    }
    Ok(by_signer.into_values().collect())
}
