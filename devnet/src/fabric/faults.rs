//! Fault hooks: make the network misbehave in one named way, for the tests that prove a
//! verifier refuses what it must. Each fault affects the next transaction or block only.

use std::collections::HashSet;

use causeway_adapters::fabric::proto::protos::TxValidationCode;

/// A fault to inject with [`super::FabricNetwork::inject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The next transaction committed gets this validation code whatever its validity (its
    /// writes are discarded; it stays in its block, as invalid transactions do in Fabric).
    InvalidateNextTransaction(TxValidationCode),
    /// The next block's header carries a wrong `data_hash` (one bit flipped).
    WrongDataHash,
    /// The next block's header carries a wrong `previous_hash` (one bit flipped); the blocks
    /// after it link to its real header hash.
    BrokenPreviousHash,
    /// The next Endorse call is endorsed as the [`EndorsementFault`] says, and the committer
    /// marks that transaction VALID anyway (a lying peer).
    Endorsement(EndorsementFault),
    /// The next proposal whose creator's certificate is not trusted (expired, another CA) is
    /// accepted anyway, and so is that transaction at Submit, CommitStatus and commit (the
    /// creator's signature is still checked).
    AcceptUntrustedCreator,
}

/// How an endorsement is faulty (see [`Fault::Endorsement`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndorsementFault {
    /// Endorsed by Org1MSP and Org3MSP (outside the channel and the policy) instead of
    /// Org2MSP: AND(Org1MSP, Org2MSP) is not satisfied.
    OutsideOrgInsteadOfOrg2,
    /// Endorsed by Org1MSP, Org2MSP and additionally Org3MSP: the policy is still satisfied.
    AlsoOutsideOrg,
    /// Org2MSP's endorsement is made by a peer whose certificate expired.
    ExpiredOrg2Certificate,
    /// Org2MSP's endorsement is made by a peer whose certificate another CA issued.
    Org2CertificateFromOtherCa,
}

/// The faults waiting to happen, and the transactions they already marked.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) invalidate_next: Option<TxValidationCode>,
    pub(crate) wrong_data_hash: bool,
    pub(crate) broken_previous_hash: bool,
    pub(crate) endorsement: Option<EndorsementFault>,
    pub(crate) accept_untrusted_creator: bool,
    /// Transactions whose endorsement policy the committer does not check.
    pub(crate) forced_valid: HashSet<String>,
    /// Transactions whose creator's certificate is not checked against the MSPs.
    pub(crate) lenient_creator: HashSet<String>,
}

impl Faults {
    pub(crate) fn inject(&mut self, fault: Fault) {
        match fault {
            Fault::InvalidateNextTransaction(code) => self.invalidate_next = Some(code),
            Fault::WrongDataHash => self.wrong_data_hash = true,
            Fault::BrokenPreviousHash => self.broken_previous_hash = true,
            Fault::Endorsement(kind) => self.endorsement = Some(kind),
            Fault::AcceptUntrustedCreator => self.accept_untrusted_creator = true,
        }
    }
}
