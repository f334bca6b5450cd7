//! What the startup checks found: every problem, each naming its chain or lane, what is wrong
//! and how to fix it.

use core::fmt;

/// What a problem is about: a configured chain, a lane, or this gateway's own settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Subject {
    /// `[gateway]` (its own keys).
    Gateway,
    /// `[chains.<name>]`.
    Chain(String),
    /// `[lanes.<name>]`.
    Lane(String),
    /// `[anchors.<name>]`.
    Anchoring(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Gateway => f.write_str("gateway"),
            Subject::Chain(name) => write!(f, "chain {name}"),
            Subject::Lane(name) => write!(f, "lane {name}"),
            Subject::Anchoring(name) => write!(f, "anchoring {name}"),
        }
    }
}

/// Whether a problem keeps the gateway from starting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The gateway refuses to start.
    Error,
    /// Worth fixing, but the gateway can start (e.g. a signer account without funds).
    Warning,
}

/// One finding of the startup checks. `Display`: `<subject>: <what> (fix: <fix>)`. It never
/// holds a secret: endpoints are shown without credentials, keys by their address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The chain, lane or setting at fault.
    pub subject: Subject,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub what: String,
    /// What to do about it.
    pub fix: String,
}

impl Problem {
    /// An error about `subject`.
    /// Every URL in `what` and `fix` is shown without credentials, path or query (a client
    /// library's error may quote the URL it was given in full).
    pub(crate) fn error(subject: Subject, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            subject,
            severity: Severity::Error,
            what: scrub_urls(&what.into()),
            fix: scrub_urls(&fix.into()),
        }
    }

    /// A warning about `subject`.
    pub(crate) fn warning(
        subject: Subject,
        what: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(subject, what, fix)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.subject, self.what, self.fix)
    }
}

/// `text` with every `http(s)://`, `ws(s)://` or `grpc(s)://` URL in it reduced to scheme,
/// host and port ([`redact_endpoint`]): a URL ends at whitespace, a quote, a bracket or a
/// comma.
///
/// [`redact_endpoint`]: causeway_adapters::redact_endpoint
pub(crate) fn scrub_urls(text: &str) -> String {
    const SCHEMES: [&str; 6] = [
        "https://", "http://", "wss://", "ws://", "grpcs://", "grpc://",
    ];
    let ends = |c: char| c.is_whitespace() || "()[]<>\"',`".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = SCHEMES.iter().filter_map(|s| rest.find(s)).min() {
        out.push_str(&rest[..start]);
        let url = &rest[start..];
        let len = url.find(ends).unwrap_or(url.len());
        out.push_str(&causeway_adapters::redact_endpoint(&url[..len]));
        rest = &url[len..];
    }
    out.push_str(rest);
    out
}

/// Everything the checks found, errors first, then by subject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    problems: Vec<Problem>,
}

impl Report {
    /// Records `problem`.
    pub(crate) fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Records every problem of `other`.
    pub(crate) fn extend(&mut self, other: Report) {
        self.problems.extend(other.problems);
    }

    /// Sorts the problems: errors before warnings, each group by subject (gateway, chains,
    /// lanes), in the order found within one subject.
    pub(crate) fn sort(&mut self) {
        self.problems
            .sort_by(|a, b| (a.severity, &a.subject).cmp(&(b.severity, &b.subject)));
    }

    /// Every problem found.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems that keep the gateway from starting.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    /// The problems that do not.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
    }

    /// Whether nothing keeps the gateway from starting (warnings allowed).
    pub fn is_clean(&self) -> bool {
        self.errors().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_lose_credentials_paths_and_queries() {
        let problem = Problem::error(
            Subject::Chain("a".into()),
            "error sending request for url (http://user:pw@10.0.0.1:8545/v3/KEY?x=1): refused",
            "check https://key@rpc.example/v3/SECRET, then wss://n.example:8546/KEY",
        );
        assert_eq!(
            problem.to_string(),
            "chain a: error sending request for url (http://10.0.0.1:8545): refused (fix: \
             check https://rpc.example, then wss://n.example:8546)"
        );
        assert_eq!(scrub_urls("no url here"), "no url here");
    }
}
