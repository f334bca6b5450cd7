//! The Causeway contracts' runtime code, embedded from `contracts/artifacts/` at build time, and
//! the comparison of a deployed contract's code with it.
//!
//! An artifact's runtime code has zeros where the contract's immutables go (the Outbox's and
//! Inbox's `localDomain`, the Inbox's `admin` and `changeDelay`): solc reserves a `PUSH32` for
//! each reference and the constructor fills it in. The comparison therefore accepts any value
//! in exactly those slots and requires every other byte, and the length, to be equal; the
//! immutables themselves are then checked through the contract's own view functions
//! (`localDomain()` against the configured domain).

/// A Causeway contract the checks know the code of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contract {
    /// The origin side.
    Outbox,
    /// The origin side on FISCO BCOS: the Outbox that also records each id it emits
    /// (`dispatched(id)`), which a receipt proof there cannot show alone (docs/fisco.md).
    FiscoOutbox,
    /// The destination side.
    Inbox,
    /// The checkpoint anchor.
    Anchor,
}

impl Contract {
    /// Its name, as in the artifacts and the configuration's comments.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Contract::Outbox => "Outbox",
            Contract::FiscoOutbox => "FiscoOutbox",
            Contract::Inbox => "Inbox",
            Contract::Anchor => "Anchor",
        }
    }

    /// The artifact file's text.
    fn artifact(self) -> &'static str {
        match self {
            Contract::Outbox => include_str!("../../../contracts/artifacts/Outbox.json"),
            Contract::FiscoOutbox => {
                include_str!("../../../contracts/artifacts/FiscoOutbox.json")
            }
            Contract::Inbox => include_str!("../../../contracts/artifacts/Inbox.json"),
            Contract::Anchor => include_str!("../../../contracts/artifacts/Anchor.json"),
        }
    }

    /// The runtime code of the artifact (immutables zero).
    pub(crate) fn runtime_code(self) -> Vec<u8> {
        let artifact: serde_json::Value = serde_json::from_str(self.artifact())
            .expect("the embedded artifacts are the committed, valid JSON files");
        let hex_code = artifact
            .get("deployedBytecode")
            .and_then(serde_json::Value::as_str)
            .expect("every committed artifact has deployedBytecode");
        hex::decode(hex_code.trim_start_matches("0x"))
            .expect("the committed artifacts' bytecode is hex")
    }
}

/// `PUSH1`..`PUSH32`: how many data bytes follow each.
const PUSH1: u8 = 0x60;
const PUSH32: u8 = 0x7f;

/// Byte ranges of `code` that hold the data of a `PUSH32` of 32 zero bytes: where solc left
/// room for an immutable. Walks the instructions, so push data is never read as an opcode.
fn immutable_slots(code: &[u8]) -> Vec<core::ops::Range<usize>> {
    let mut slots = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let op = code[at];
        if (PUSH1..=PUSH32).contains(&op) {
            let len = usize::from(op - PUSH1) + 1;
            let data = at + 1..(at + 1 + len).min(code.len());
            if op == PUSH32 && data.len() == 32 && code[data.clone()].iter().all(|b| *b == 0) {
                slots.push(data);
            }
            at += 1 + len;
        } else {
            at += 1;
        }
    }
    slots
}

/// Whether `deployed` is `expected` (an artifact's runtime code) with immutables filled in:
/// the same length, and equal outside the immutable slots.
pub(crate) fn matches_artifact(deployed: &[u8], expected: &[u8]) -> bool {
    if deployed.len() != expected.len() {
        return false;
    }
    let mut masked = deployed.to_vec();
    for slot in immutable_slots(expected) {
        masked[slot].fill(0);
    }
    masked == expected
}

/// Checks the `code` read at `address` for the configured `key` against `contract`'s artifact
/// and reports what is wrong with a fix (`place`: "chain", "group"). True when it is the
/// contract, so its view functions can be asked next.
pub(crate) fn check_deployed(
    report: &mut super::Report,
    subject: super::Subject,
    contract: Contract,
    key: &str,
    address: impl core::fmt::Display,
    code: &[u8],
    place: &str,
) -> bool {
    let name = contract.name();
    if code.is_empty() {
        report.push(super::Problem::error(
            subject,
            format!("the {name} address {address} has no code on this {place}"),
            format!("deploy the Causeway {name} there, or set {key} to its address"),
        ));
        return false;
    }
    if !matches_artifact(code, &contract.runtime_code()) {
        report.push(super::Problem::error(
            subject,
            format!(
                "the contract at {address} is not the Causeway {name} this gateway was built \
                 with (its runtime code differs)"
            ),
            format!(
                "set {key} to the {name} deployed from contracts/artifacts/{name}.json, or \
                 upgrade this gateway to the release that matches the deployed contract"
            ),
        ));
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_runtime_code_has_room_for_the_immutables() {
        // Outbox: localDomain, read in two places. Inbox: localDomain, admin, changeDelay.
        assert!(!immutable_slots(&Contract::Outbox.runtime_code()).is_empty());
        assert!(!immutable_slots(&Contract::FiscoOutbox.runtime_code()).is_empty());
        assert!(immutable_slots(&Contract::Inbox.runtime_code()).len() >= 3);
        assert!(!Contract::Anchor.runtime_code().is_empty());
    }

    #[test]
    fn code_matches_only_with_other_bytes_in_the_immutable_slots() {
        let expected = Contract::Outbox.runtime_code();
        let slots = immutable_slots(&expected);
        let mut deployed = expected.clone();
        // localDomain = 7 in every slot: still the Outbox.
        for slot in &slots {
            deployed[slot.end - 1] = 7;
        }
        assert!(matches_artifact(&deployed, &expected));
        // One byte changed outside the slots: another contract.
        let outside = (0..expected.len())
            .find(|i| !slots.iter().any(|s| s.contains(i)))
            .unwrap_or_default();
        deployed[outside] ^= 1;
        assert!(!matches_artifact(&deployed, &expected));
        // Another contract altogether, or a truncated one.
        assert!(!matches_artifact(
            &Contract::Inbox.runtime_code(),
            &expected
        ));
        assert!(!matches_artifact(
            &expected[..expected.len() - 1],
            &expected
        ));
        assert!(!matches_artifact(&[], &expected));
        // The plain Outbox is not the FISCO BCOS one (it records no ids).
        assert!(!matches_artifact(
            &expected,
            &Contract::FiscoOutbox.runtime_code()
        ));
    }
}
