//! Endorsement policies over organisations, the forms Causeway configures for a Fabric source
//! ("org1 AND org2", "majority of orgs", "n of these orgs"), evaluated as Fabric evaluates a
//! signature policy: only endorsements whose signature and identity verify, by identities of the
//! required role (`Org.peer` by default, see [`MspRole`]), count, and each organisation counts
//! once however many of its peers endorsed.

use std::collections::BTreeSet;
use std::fmt;
use std::time::SystemTime;

use super::block::EndorsedAction;
use super::error::FabricError;
use super::identity::{MspRole, TrustedMsps};
use super::verify::{endorsements, resolve_with};

/// Which organisations (MSP ids) must have endorsed a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndorsementPolicy {
    /// Every listed organisation (`AND(...)`).
    AllOf(Vec<String>),
    /// At least `n` distinct listed organisations (`OutOf(n, ...)`; `n = 1` is `OR(...)`).
    OutOf {
        /// How many organisations must endorse.
        n: usize,
        /// The organisations that count.
        msps: Vec<String>,
    },
    /// More than half of the listed organisations (Fabric's `MAJORITY Endorsement`).
    Majority(Vec<String>),
}

impl EndorsementPolicy {
    /// The organisations the policy names and how many of them must endorse.
    fn threshold(&self) -> (usize, &[String]) {
        match self {
            Self::AllOf(msps) => (msps.len(), msps),
            Self::OutOf { n, msps } => (*n, msps),
            Self::Majority(msps) => (msps.len() / 2 + 1, msps),
        }
    }

    /// Whether endorsements from the organisations `endorsed_by` satisfy the policy. A policy
    /// that names no organisation, or needs none, is never satisfied (fail closed).
    pub fn is_satisfied_by(&self, endorsed_by: &BTreeSet<String>) -> bool {
        let (n, msps) = self.threshold();
        let distinct: BTreeSet<&String> = msps.iter().collect();
        n > 0
            && distinct
                .iter()
                .filter(|m| endorsed_by.contains(m.as_str()))
                .count()
                >= n
    }

    /// The organisations the policy names (only their endorsements can count).
    pub fn msps(&self) -> &[String] {
        self.threshold().1
    }

    /// Checks the endorsements of `action`: verifies them (endorser trusted at `at` in `role`,
    /// normally [`MspRole::Peer`]; low-S signature over `proposal_response_payload ||
    /// endorser`), ignores those that fail, as Fabric does, and requires the valid ones of the
    /// policy's organisations to satisfy it. Returns the endorsing organisations (once the
    /// policy is satisfied, further endorsements are not verified).
    pub fn check(
        &self,
        action: &EndorsedAction,
        trusted: &TrustedMsps,
        role: MspRole,
        at: SystemTime,
    ) -> Result<BTreeSet<String>, FabricError> {
        let (satisfied, endorsed) = endorsements(self, action, resolve_with(trusted, role, at));
        if satisfied {
            Ok(endorsed.by)
        } else {
            Err(FabricError::PolicyNotSatisfied {
                policy: self.to_string(),
                endorsed_by: endorsed.by.into_iter().collect(),
            })
        }
    }
}

impl fmt::Display for EndorsementPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, msps) = self.threshold();
        write!(f, "{n} of [{}]", msps.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(msps: &[&str]) -> BTreeSet<String> {
        msps.iter().map(|m| (*m).to_owned()).collect()
    }

    fn orgs(msps: &[&str]) -> Vec<String> {
        msps.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn thresholds() {
        let and = EndorsementPolicy::AllOf(orgs(&["Org1MSP", "Org2MSP"]));
        assert!(and.is_satisfied_by(&set(&["Org1MSP", "Org2MSP"])));
        assert!(!and.is_satisfied_by(&set(&["Org1MSP", "Org3MSP"])));
        let majority = EndorsementPolicy::Majority(orgs(&["A", "B", "C", "D"]));
        assert!(!majority.is_satisfied_by(&set(&["A", "B"])));
        assert!(majority.is_satisfied_by(&set(&["A", "B", "D"])));
        let majority3 = EndorsementPolicy::Majority(orgs(&["A", "B", "C"]));
        assert!(majority3.is_satisfied_by(&set(&["A", "C"])));
        // Duplicates in the policy do not let one organisation count twice.
        let dup = EndorsementPolicy::OutOf {
            n: 2,
            msps: orgs(&["A", "A"]),
        };
        assert!(!dup.is_satisfied_by(&set(&["A"])));
        // Empty policies are never satisfied.
        assert!(!EndorsementPolicy::AllOf(vec![]).is_satisfied_by(&set(&["A"])));
        assert!(
            !EndorsementPolicy::OutOf {
                n: 0,
                msps: orgs(&["A"])
            }
            .is_satisfied_by(&set(&[]))
        );
    }
}
