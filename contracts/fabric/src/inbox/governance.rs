//! No single key changes a validator set or lifts a pause (issue 9), the Fabric twin of the
//! governance of `ValidatorRegistry.sol` and `Inbox.sol`:
//!
//! - `changeValidators(origin, origin_chain_id, threshold, validators, epoch, signatures)`:
//!   anyone submits a new set for `origin` signed by a threshold of its **current** set (the
//!   checkpoint rules: 65 bytes, low s, members, distinct, ascending, then the threshold) over
//!   the Solidity `validatorSetChangeDigest` (domain `CausewayGovernance`, struct
//!   `ValidatorSetChange`), with this channel's configured chain id and the inbox's 32-byte
//!   identity (`keccak256("<channel>/<chaincode>")`) in place of `block.chainid` and
//!   `address(this)`; `epoch` must be the current epoch + 1 (`WrongEpoch`).
//! - `unpause(origin, signatures)`: a threshold of the current set over the Solidity
//!   `unpauseDigest` (struct `Unpause(origin, pauses)`, the pause counter), so one set of
//!   signatures lifts one pause only. Pausing stays the admin's (`setPaused(origin, true)`):
//!   validators are secp256k1 keys, not Fabric identities, so they cannot send a transaction
//!   as themselves; `setPaused(origin, false)` is refused.
//!
//! Difference by nature of Fabric: a change applies at once, without the EVM's delay and
//! cancellation. A chaincode has no trustworthy clock (the transaction timestamp is chosen by
//! the client that signs the proposal) nor a block height, so a delay could be skipped by
//! whoever submits the change. The gateways watch the `causeway.ValidatorsSet` event instead.
//! Signatures are comma-separated 65-byte hex values.

use causeway_proofs::hash::keccak256;
use causeway_proofs::{Domain, EvmAddress, Hash32, SigningDomain};

use super::validators::{StoredSet, install, parse_set};
use super::{parse_decimal, verify_signatures};
use crate::Stub;
use crate::wire::RevertReason;

fn word(value: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&value.to_be_bytes());
    w
}

fn hash_words(words: &[[u8; 32]]) -> [u8; 32] {
    let data: Vec<u8> = words.iter().flatten().copied().collect();
    keccak256(&data).0
}

/// `keccak256(0x19 ‖ 0x01 ‖ governanceSeparator ‖ struct_hash)` under the current set of
/// `origin` on this inbox.
fn governance_digest(
    stub: &dyn Stub,
    origin: Domain,
    set: &StoredSet,
    struct_hash: [u8; 32],
) -> Hash32 {
    let inbox =
        SigningDomain::named_inbox(&format!("{}/{}", stub.channel(), stub.chaincode_name()));
    let separator = hash_words(&[
        keccak256(b"CausewayGovernance(string name,string version,uint32 originDomain,uint256 originChainId,uint256 chainId,bytes32 verifier,uint64 validatorEpoch)").0,
        keccak256(b"Causeway").0,
        keccak256(b"1").0,
        word(origin.0.into()),
        word(set.origin_chain_id),
        word(stub.network().chain_id),
        inbox.0,
        word(set.epoch),
    ]);
    let mut data = vec![0x19, 0x01];
    data.extend_from_slice(&separator);
    data.extend_from_slice(&struct_hash);
    keccak256(&data)
}

/// The digest the current set of `origin` signs to change it to `validators` / `threshold` at
/// `epoch` (the Solidity `validatorSetChangeDigest`).
pub(super) fn change_digest(
    stub: &dyn Stub,
    origin: Domain,
    current: &StoredSet,
    origin_chain_id: u64,
    validators: &[EvmAddress],
    threshold: u64,
    epoch: u64,
) -> Hash32 {
    let members: Vec<u8> = validators
        .iter()
        .flat_map(|v| {
            let mut w = [0u8; 32];
            w[12..].copy_from_slice(&v.0);
            w
        })
        .collect();
    let change = hash_words(&[
        keccak256(b"ValidatorSetChange(uint32 originDomain,uint64 originChainId,address[] validators,uint8 threshold,uint64 epoch)").0,
        word(origin.0.into()),
        word(origin_chain_id),
        keccak256(&members).0,
        word(threshold),
        word(epoch),
    ]);
    governance_digest(stub, origin, current, change)
}

/// The digest the current set of `origin` signs to lift pause number `pauses`.
pub(super) fn unpause_digest(
    stub: &dyn Stub,
    origin: Domain,
    current: &StoredSet,
    pauses: u64,
) -> Hash32 {
    let unpause = hash_words(&[
        keccak256(b"Unpause(uint32 originDomain,uint32 pauses)").0,
        word(origin.0.into()),
        word(pauses),
    ]);
    governance_digest(stub, origin, current, unpause)
}

/// Comma-separated hex signatures (an empty argument: none).
fn parse_signatures(arg: &[u8]) -> Result<Vec<Vec<u8>>, RevertReason> {
    let text = std::str::from_utf8(arg).map_err(|_| RevertReason::Message {
        message: "signatures are not UTF-8".into(),
    })?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|s| {
            let s = s.trim();
            hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| RevertReason::Message {
                message: format!("signature is not hex: {e}"),
            })
        })
        .collect()
}

fn current_set(stub: &mut dyn Stub, origin: Domain) -> Result<StoredSet, RevertReason> {
    StoredSet::load(stub, origin)
        .map_err(|e| RevertReason::Message { message: e.0 })?
        .ok_or(RevertReason::UnknownOrigin { origin })
}

/// `validatorSetChangeDigest(origin, origin_chain_id, threshold, validators, epoch)`: the
/// digest to sign for `changeValidators` (a query for gateways).
pub(super) fn change_digest_view(
    stub: &mut dyn Stub,
    args: &[Vec<u8>],
) -> Result<Hash32, RevertReason> {
    let (origin, origin_chain_id, set) = parse_set(&args[..4])?;
    let current = current_set(stub, origin)?;
    let epoch = parse_decimal::<u64>("epoch", &args[4])
        .map_err(|e| RevertReason::Message { message: e.0 })?;
    Ok(change_digest(
        stub,
        origin,
        &current,
        origin_chain_id,
        set.members(),
        set.threshold() as u64,
        epoch,
    ))
}

/// `unpauseDigest(origin)`: the digest to sign to lift the current pause of `origin`.
pub(super) fn unpause_digest_view(
    stub: &mut dyn Stub,
    origin: Domain,
) -> Result<Hash32, RevertReason> {
    let current = current_set(stub, origin)?;
    let count = pauses(stub, origin);
    Ok(unpause_digest(stub, origin, &current, count))
}

/// `changeValidators(origin, origin_chain_id, threshold, validators, epoch, signatures)`:
/// installs a new set signed by a threshold of the current one; returns the new epoch.
pub(super) fn change_validators(
    stub: &mut dyn Stub,
    args: &[Vec<u8>],
) -> Result<Vec<u8>, RevertReason> {
    let (origin, origin_chain_id, set) = parse_set(&args[..4])?;
    let current = current_set(stub, origin)?;
    let epoch = parse_decimal::<u64>("epoch", &args[4])
        .map_err(|e| RevertReason::Message { message: e.0 })?;
    let expected = current.epoch + 1;
    if epoch != expected {
        return Err(RevertReason::WrongEpoch {
            expected,
            actual: epoch,
        });
    }
    let digest = change_digest(
        stub,
        origin,
        &current,
        origin_chain_id,
        set.members(),
        set.threshold() as u64,
        epoch,
    );
    let signatures = parse_signatures(&args[5])?;
    let refs: Vec<&[u8]> = signatures.iter().map(Vec::as_slice).collect();
    verify_signatures(&current.set, &digest, &refs)?;
    install(stub, origin, origin_chain_id, set, epoch);
    Ok(epoch.to_string().into_bytes())
}

fn pauses_key(origin: Domain) -> String {
    format!("pauses/{}", origin.0)
}

/// How many times `origin` was paused (the counter the unpause digest names).
pub(super) fn pauses(stub: &mut dyn Stub, origin: Domain) -> u64 {
    stub.get_state(&pauses_key(origin))
        .and_then(|v| std::str::from_utf8(&v).ok().and_then(|t| t.parse().ok()))
        .unwrap_or(0)
}

/// Counts one more pause of `origin`.
pub(super) fn count_pause(stub: &mut dyn Stub, origin: Domain) {
    let next = pauses(stub, origin) + 1;
    stub.put_state(&pauses_key(origin), next.to_string().into_bytes());
}

/// `unpause(origin, signatures)`: checks a threshold of the current set over the unpause
/// digest of the current pause. The caller lifts the pause.
pub(super) fn check_unpause(
    stub: &mut dyn Stub,
    origin: Domain,
    signatures: &[u8],
) -> Result<(), RevertReason> {
    let current = current_set(stub, origin)?;
    let count = pauses(stub, origin);
    let digest = unpause_digest(stub, origin, &current, count);
    let signatures = parse_signatures(signatures)?;
    let refs: Vec<&[u8]> = signatures.iter().map(Vec::as_slice).collect();
    verify_signatures(&current.set, &digest, &refs)
}
