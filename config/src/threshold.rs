//! The threshold rule of a validator set, shared by the configuration's `[lanes.<name>]` and
//! by every other place that accepts a validator set (such as `causeway verify`'s trust file),
//! so that nothing accepts a set-up the configuration would refuse.
//!
//! The rule: `1 ≤ threshold ≤ n` and `2·threshold > n` (a strict majority), so two disjoint
//! quorums can never both attest, and a checkpoint always needs at least one signature.

use core::fmt;

use crate::error::Rule;

/// Why a threshold is refused: the broken rule, what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdRefusal {
    /// Which rule the threshold breaks ([`Rule::ThresholdZero`],
    /// [`Rule::ThresholdAboveValidators`] or [`Rule::ThresholdNotMajority`]).
    pub rule: Rule,
    /// What is wrong, e.g. `threshold 1 of 5 is not a strict majority …`.
    pub problem: String,
    /// The fix, e.g. `set threshold to between 3 and 5 for 5 validators`.
    pub fix: String,
}

impl fmt::Display for ThresholdRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (fix: {})", self.problem, self.fix)
    }
}

impl std::error::Error for ThresholdRefusal {}

/// Checks `threshold` signatures out of `validators` against the rule in the module docs.
/// An empty validator set is refused too (no threshold can be met).
pub fn check_threshold(threshold: u64, validators: usize) -> Result<(), ThresholdRefusal> {
    let n = u64::try_from(validators).unwrap_or(u64::MAX);
    let majority = n / 2 + 1;
    let range = if majority == n {
        format!("{n}")
    } else {
        format!("between {majority} and {n}")
    };
    let fix = format!("set threshold to {range} for {n} validators");
    let refuse = |rule, problem: String| {
        Err(ThresholdRefusal {
            rule,
            problem,
            fix: fix.clone(),
        })
    };
    if n == 0 {
        return Err(ThresholdRefusal {
            rule: Rule::ThresholdAboveValidators,
            problem: format!("threshold {threshold} of an empty validator set can never be met"),
            fix: "list the lane's validators".to_owned(),
        });
    }
    if threshold == 0 {
        return refuse(
            Rule::ThresholdZero,
            "threshold 0 would accept a checkpoint with no signature at all".to_owned(),
        );
    }
    if threshold > n {
        return refuse(
            Rule::ThresholdAboveValidators,
            format!(
                "threshold {threshold} exceeds the {n} validators: no checkpoint could ever be attested"
            ),
        );
    }
    if u128::from(threshold) * 2 <= u128::from(n) {
        return refuse(
            Rule::ThresholdNotMajority,
            format!(
                "threshold {threshold} of {n} is not a strict majority (2 × threshold must exceed {n}): two disjoint groups of validators could attest conflicting checkpoints"
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn strict_majorities_pass_and_everything_else_names_its_rule() {
        for (t, n) in [(1, 1), (2, 2), (2, 3), (3, 5), (5, 5), (3, 4)] {
            assert_eq!(check_threshold(t, n), Ok(()), "{t} of {n}");
        }
        let rule = |t, n| check_threshold(t, n).unwrap_err().rule;
        assert_eq!(rule(0, 3), Rule::ThresholdZero);
        assert_eq!(rule(4, 3), Rule::ThresholdAboveValidators);
        assert_eq!(rule(1, 5), Rule::ThresholdNotMajority);
        assert_eq!(rule(2, 4), Rule::ThresholdNotMajority);
        assert_eq!(rule(1, 0), Rule::ThresholdAboveValidators);
        let e = check_threshold(1, 5).unwrap_err();
        assert_eq!(e.fix, "set threshold to between 3 and 5 for 5 validators");
        assert!(
            e.to_string().contains("1 of 5 is not a strict majority"),
            "{e}"
        );
        assert_eq!(
            check_threshold(0, 1).unwrap_err().fix,
            "set threshold to 1 for 1 validators"
        );
    }
}
