//! The inbox's validator sets: `setValidators` (the admin's bootstrap, once per origin, the
//! Solidity registry's rules) and the stored set each checkpoint is verified against.

use causeway_proofs::{Domain, EvmAddress, ValidatorSet};

use super::{MAX_VALIDATORS, VALIDATORS_SET_EVENT};
use crate::wire::RevertReason;
use crate::{ChaincodeError, Stub};

fn validators_key(origin: Domain) -> String {
    format!("validators/{}", origin.0)
}

/// One origin's validator set as stored by `setValidators`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct StoredSet {
    pub(super) origin_chain_id: u64,
    pub(super) epoch: u64,
    pub(super) set: ValidatorSet,
}

impl StoredSet {
    pub(super) fn to_json(&self, origin: Domain) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "origin": origin.0,
            "origin_chain_id": self.origin_chain_id,
            "threshold": self.set.threshold(),
            "epoch": self.epoch,
            "validators": self.set.members(),
        }))
        .expect("plain data serialises")
    }

    pub(super) fn load(
        stub: &mut dyn Stub,
        origin: Domain,
    ) -> Result<Option<Self>, ChaincodeError> {
        let Some(bytes) = stub.get_state(&validators_key(origin)) else {
            return Ok(None);
        };
        let corrupt = |what: &str| ChaincodeError(format!("stored validator set: {what}"));
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(&e.to_string()))?;
        let number = |field: &str| {
            value
                .get(field)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| corrupt(field))
        };
        let members: Vec<EvmAddress> =
            serde_json::from_value(value.get("validators").cloned().unwrap_or_default())
                .map_err(|e| corrupt(&e.to_string()))?;
        let threshold = usize::try_from(number("threshold")?).map_err(|_| corrupt("threshold"))?;
        let set = ValidatorSet::new(members, threshold).map_err(|e| corrupt(&e.to_string()))?;
        Ok(Some(StoredSet {
            origin_chain_id: number("origin_chain_id")?,
            epoch: number("epoch")?,
            set,
        }))
    }
}

/// `setValidators(origin, origin_chain_id, threshold, validators)`, admin only and once per
/// origin (`AlreadyConfigured` after: later sets need the current set's threshold, see
/// [`super::governance`]): installs the first set of `origin` at epoch 1; returns the epoch.
/// Validators are comma-separated `0x` addresses, strictly ascending; the origin chain id
/// non-zero (a Fabric origin's is its configured one); the threshold a strict majority (the
/// Solidity registry's rules, checked in its order).
pub(super) fn set_validators(
    stub: &mut dyn Stub,
    args: &[Vec<u8>],
) -> Result<Vec<u8>, RevertReason> {
    if stub.creator_bytes() != stub.network().admin.as_slice() {
        return Err(RevertReason::NotAdmin);
    }
    let (origin, origin_chain_id, set) = parse_set(&args[..4])?;
    let invalid = |reason: &str| RevertReason::InvalidValidatorSet {
        reason: reason.to_owned(),
    };
    if StoredSet::load(stub, origin)
        .map_err(|e| invalid(&e.0))?
        .is_some()
    {
        return Err(RevertReason::AlreadyConfigured { origin });
    }
    install(stub, origin, origin_chain_id, set, 1);
    Ok(b"1".to_vec())
}

/// Stores `set` as the set of `origin` at `epoch` and sets the `causeway.ValidatorsSet` event.
pub(super) fn install(
    stub: &mut dyn Stub,
    origin: Domain,
    origin_chain_id: u64,
    set: ValidatorSet,
    epoch: u64,
) {
    let stored = StoredSet {
        origin_chain_id,
        epoch,
        set,
    };
    let json = stored.to_json(origin);
    stub.put_state(&validators_key(origin), json.clone());
    stub.set_event(VALIDATORS_SET_EVENT, json);
}

/// Parses and checks `(origin, origin_chain_id, threshold, validators)` with the Solidity
/// registry's rules, in its order.
pub(super) fn parse_set(args: &[Vec<u8>]) -> Result<(Domain, u64, ValidatorSet), RevertReason> {
    let invalid = |reason: &str| RevertReason::InvalidValidatorSet {
        reason: reason.to_owned(),
    };
    let parse = |what: &str, arg: &[u8]| {
        crate::args::decimal::<u64>(arg)
            .ok_or_else(|| invalid(&format!("{what} is not a decimal number")))
    };
    let origin = Domain(
        u32::try_from(parse("origin", &args[0])?).map_err(|_| invalid("origin is not a u32"))?,
    );
    let origin_chain_id = parse("origin chain id", &args[1])?;
    let threshold = parse("threshold", &args[2])?;
    let text = std::str::from_utf8(&args[3]).map_err(|_| invalid("validators are not UTF-8"))?;
    let validators: Vec<EvmAddress> = if text.is_empty() {
        Vec::new()
    } else {
        text.split(',')
            .map(|a| a.trim().parse::<EvmAddress>())
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(&e.to_string()))?
    };
    let n = validators.len() as u64;
    if n == 0 {
        return Err(invalid("empty validator set"));
    }
    if validators.len() > MAX_VALIDATORS {
        return Err(invalid("more than 255 validators"));
    }
    if origin_chain_id == 0 {
        return Err(invalid("zero origin chain id"));
    }
    if threshold == 0 {
        return Err(invalid("zero threshold"));
    }
    if threshold > n {
        return Err(invalid("threshold above validator count"));
    }
    if 2 * threshold <= n {
        return Err(invalid("threshold is not a strict majority"));
    }
    let mut previous = EvmAddress::default();
    for v in &validators {
        if v.is_zero() {
            return Err(invalid("zero address validator"));
        }
        if *v == previous {
            return Err(invalid("duplicate validator"));
        }
        if *v < previous {
            return Err(invalid("validators not strictly ascending"));
        }
        previous = *v;
    }
    let set =
        ValidatorSet::new(validators, threshold as usize).map_err(|e| invalid(&e.to_string()))?;
    Ok((origin, origin_chain_id, set))
}
