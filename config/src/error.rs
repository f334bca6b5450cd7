//! The crate's one error type, and the list type that carries every problem of one file.

use core::fmt;
use std::io;
use std::path::PathBuf;

/// A place in the configuration file: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, starting at 1.
    pub line: u32,
    /// Column, starting at 1, counted in characters.
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text's end).
    pub fn of_offset(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        // Saturate: a configuration of four billion lines is not a case worth a wider type.
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Position {
            line: narrow(line),
            column: narrow(column),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Which rule a problem broke. Stable names for programs (and tests) to match on; people read
/// the `problem` and `fix` texts instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The text is not valid TOML (including a key defined twice, such as two `[chains.x]`).
    Syntax,
    /// A key this schema does not know (usually a typo); nothing is silently ignored.
    UnknownField,
    /// A required key is absent.
    MissingField,
    /// A value has the wrong type or shape (bad address, bad URL, unknown hash algorithm, …).
    InvalidValue,
    /// A member, chain or lane name outside `[a-z][a-z0-9-]*` (names end up in env var names
    /// and metric labels).
    InvalidName,
    /// `gateway.organisation` names no `[[members]]` entry.
    UnknownOrganisation,
    /// Two members share a name.
    DuplicateMemberName,
    /// Two members share a validator address: one key would count twice toward a threshold.
    DuplicateValidatorAddress,
    /// Two members share a privacy public key.
    DuplicatePrivacyKey,
    /// Two chains share a domain id.
    DuplicateDomain,
    /// Two chains of one family share a chain id (and group, for FISCO BCOS).
    DuplicateChainId,
    /// Two lanes join the same origin and destination.
    DuplicateLane,
    /// A lane's validator set names one member twice.
    DuplicateValidator,
    /// Two listeners (peer, API, monitoring) would bind the same socket.
    DuplicateListenAddress,
    /// An all-zero address, domain or chain id: the default value is never trusted.
    ZeroValue,
    /// A privacy public key of small order: every shared secret with it would be public.
    WeakPrivacyKey,
    /// A chain with no endpoint to talk to.
    EmptyEndpoints,
    /// A password or other credential written into the configuration file.
    SecretInFile,
    /// An EVM or FISCO BCOS chain without its Outbox or Inbox address, or a Fabric chain without
    /// its channel or chaincode.
    MissingContract,
    /// A key that does not apply to the chain's family.
    NotForFamily,
    /// A Fabric chain without the `verifier` section that says whose MSP roots, orderers and
    /// endorsement policy its blocks are checked against (nothing would be verified).
    MissingVerifier,
    /// A Fabric endorsement policy that does not parse, cannot be satisfied, is satisfied by
    /// nobody, or names an organisation whose MSP roots are not configured.
    InvalidPolicy,
    /// Two MSPs of a Fabric verifier share a root certificate (or its key), or one MSP is both
    /// an endorsing organisation and an orderer: identities of one would count as the other.
    OverlappingTrustRoots,
    /// A Fabric verifier lists one consenter twice (the same public key, maybe in two
    /// certificates): one orderer would count twice toward a block's quorum.
    DuplicateConsenter,
    /// A finality rule that can accept events which later disappear (or none at all).
    UnsafeFinality,
    /// A lane names a chain that is not configured.
    UnknownChain,
    /// A lane from a chain to itself.
    LaneToSelf,
    /// A lane whose log hash its destination cannot verify (the EVM Inbox verifies SHA-256 and
    /// Keccak-256 logs, the Fabric inbox SHA-256 ones).
    HashUnsupported,
    /// A lane's validator set names a member that is not configured.
    UnknownMember,
    /// A lane with no validators.
    EmptyValidatorSet,
    /// A threshold of 0.
    ThresholdZero,
    /// A threshold above the number of validators: nothing could ever be attested.
    ThresholdAboveValidators,
    /// A threshold that is not a strict majority of the validator set (`2·threshold ≤ n`).
    ThresholdNotMajority,
    /// One operator, host, HSM or custodian holds at least `threshold` of a lane's keys.
    ConcentratedCustody,
    /// A rate limit of zero messages or a zero-length window.
    InvalidRateLimit,
    /// A referenced file does not exist or cannot be read.
    FileMissing,
    /// A key file that group or others may read or write.
    KeyFilePermissions,
    /// A key file whose contents are not a key of the expected kind.
    KeyFileContents,
    /// This gateway's key does not match what its `[[members]]` entry publishes.
    KeyMismatch,
    /// An environment override that is empty or contradicts the file.
    EnvOverride,
    /// Two storage back-ends chosen at once.
    StorageConflict,
    /// A lane's auditors name a member twice, or a chain's sender key is also one of its
    /// relayer signer keys (two writers of one account's transaction nonces).
    DuplicateKeyUse,
}

/// Everything that can go wrong while loading a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// One problem at one key of the file; renders as `<file>[:line:col]: <key>: <problem> (fix: <fix>)`.
    #[error("{}{}: {key}: {problem} (fix: {fix})", file.display(), At(position))]
    Invalid {
        /// The configuration file (or key file) with the problem.
        file: PathBuf,
        /// Dotted key path, such as `lanes.evm-a-to-evm-b.threshold` or `members[2].validator_address`.
        key: String,
        /// What is wrong, with the facts (values, names) needed to see why.
        problem: String,
        /// What to change to make it right.
        fix: String,
        /// Which rule was broken.
        rule: Rule,
        /// Where in the file, when the value came from the file (not from the environment).
        position: Option<Position>,
    },
    /// The configuration file could not be read at all.
    #[error("{}: cannot read the configuration file (fix: check the path and that this user may read it)", file.display())]
    Read {
        /// The path given.
        file: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Several problems, all reported at once.
    #[error("{0}")]
    Several(ConfigErrors),
}

/// Renders `:line:col` when a position is known.
struct At<'a>(&'a Option<Position>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
        }
    }
}

impl ConfigError {
    /// Every individual problem: the list of a [`ConfigError::Several`], or this error alone.
    pub fn problems(&self) -> &[ConfigError] {
        match self {
            ConfigError::Several(list) => list.as_slice(),
            other => core::slice::from_ref(other),
        }
    }

    /// The rule broken, for [`ConfigError::Invalid`].
    pub fn rule(&self) -> Option<Rule> {
        match self {
            ConfigError::Invalid { rule, .. } => Some(*rule),
            _ => None,
        }
    }

    /// The dotted key path, for [`ConfigError::Invalid`].
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The suggested fix, for [`ConfigError::Invalid`].
    pub fn fix(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { fix, .. } => Some(fix),
            _ => None,
        }
    }

    /// The position in the file, for [`ConfigError::Invalid`] values read from the file.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Invalid { position, .. } => *position,
            _ => None,
        }
    }
}

/// All the problems found in one configuration, in file order where known. Never empty when
/// returned as an error.
#[derive(Debug, Default)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// An empty list.
    pub fn new() -> Self {
        ConfigErrors(Vec::new())
    }

    /// Adds one problem (a nested list is flattened).
    pub fn push(&mut self, error: ConfigError) {
        match error {
            ConfigError::Several(list) => self.0.extend(list.0),
            one => self.0.push(one),
        }
    }

    /// The problems.
    pub fn as_slice(&self) -> &[ConfigError] {
        &self.0
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Orders the problems as they appear in the file; those without a position (values from
    /// the environment) come last, in the order found.
    pub(crate) fn sort_by_position(&mut self) {
        self.0
            .sort_by_key(|e| e.position().map_or((u32::MAX, 0), |p| (p.line, p.column)));
    }

    /// `Ok(())` when empty, the single error when there is one, [`ConfigError::Several`] otherwise.
    pub fn into_result(mut self) -> Result<(), ConfigError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(self.0.remove(0)),
            _ => Err(ConfigError::Several(self)),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the configuration has {} problems:", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(key: &str, position: Option<Position>) -> ConfigError {
        ConfigError::Invalid {
            file: PathBuf::from("/etc/causeway/gateway.toml"),
            key: key.to_owned(),
            problem: "threshold 1 of 3 is not a strict majority".to_owned(),
            fix: "set threshold to at least 2".to_owned(),
            rule: Rule::ThresholdNotMajority,
            position,
        }
    }

    #[test]
    fn invalid_renders_file_key_problem_and_fix() {
        let e = invalid("lanes.a-to-b.threshold", None);
        assert_eq!(
            e.to_string(),
            "/etc/causeway/gateway.toml: lanes.a-to-b.threshold: threshold 1 of 3 is not a strict \
             majority (fix: set threshold to at least 2)"
        );
        let e = invalid(
            "lanes.a-to-b.threshold",
            Some(Position {
                line: 12,
                column: 13,
            }),
        );
        assert!(
            e.to_string()
                .starts_with("/etc/causeway/gateway.toml:12:13: lanes.a-to-b.threshold: ")
        );
    }

    #[test]
    fn several_lists_every_problem_and_flattens() {
        let mut list = ConfigErrors::new();
        list.push(invalid("a", None));
        let mut inner = ConfigErrors::new();
        inner.push(invalid("b", None));
        inner.push(invalid("c", None));
        list.push(ConfigError::Several(inner));
        assert_eq!(list.len(), 3);
        let e = list.into_result().expect_err("three problems");
        let text = e.to_string();
        assert!(
            text.starts_with("the configuration has 3 problems:"),
            "{text}"
        );
        for key in ["a", "b", "c"] {
            assert!(text.contains(&format!("gateway.toml: {key}: ")), "{text}");
        }
        assert_eq!(e.problems().len(), 3);
    }

    #[test]
    fn a_single_problem_is_returned_alone() {
        let mut list = ConfigErrors::new();
        list.push(invalid("a", None));
        let e = list.into_result().expect_err("one problem");
        assert_eq!(e.key(), Some("a"));
        assert_eq!(e.problems().len(), 1);
        assert!(ConfigErrors::new().into_result().is_ok());
    }

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(
            Position::of_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            Position::of_offset(text, 6),
            Position { line: 2, column: 1 }
        );
        // 'é' is two bytes; the '=' after "bé " is the fourth character.
        assert_eq!(
            Position::of_offset(text, 10),
            Position { line: 2, column: 4 }
        );
        assert_eq!(Position::of_offset(text, 1000).line, 3);
    }
}
