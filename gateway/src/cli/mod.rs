//! The subcommands of `causeway`, one module each.

#[cfg(feature = "devnet")]
pub(crate) mod bench;
#[cfg(feature = "devnet")]
pub(crate) mod bundles;
mod chain;
mod input;
pub(crate) mod keys;
pub(crate) mod verify;

/// How a command that ran to completion ended: exit code 0 or 1. Errors that kept it from
/// running at all (unreadable files, bad arguments) are `Err` and exit with 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything checked out.
    Success,
    /// The input was examined and rejected (e.g. a bundle that fails verification).
    Rejected,
}

/// An error and its causes for the terminal, each cause said once: `{err:#}` prints every
/// cause after the message, and an error that also writes its cause into its own message (such
/// as "key file …: cannot create: File exists") would say it twice. A cause whose text the
/// line already holds is skipped.
pub(crate) fn error_report(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
