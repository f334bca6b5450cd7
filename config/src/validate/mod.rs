//! From the file as written ([`crate::raw`]) to the typed [`Config`], collecting every problem
//! instead of stopping at the first. Each submodule checks one part of the file.

mod anchors;
mod chains;
mod files;
mod gateway;
mod lanes;
mod members;
mod services;

use core::ops::Range;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::env::Env;
use crate::error::{ConfigError, ConfigErrors, Position, Rule};
use crate::raw::RawConfig;

/// Where a value came from: a byte range of the file, or an environment variable.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    File(Range<usize>),
    Env(&'static str),
    EnvOwned(String),
    /// A default the code supplied.
    Default,
}

impl Source {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Source::File(span) => Some(span.clone()),
            _ => None,
        }
    }

    /// ` (from VAR)` for values set by the environment, empty otherwise.
    pub(crate) fn note(&self) -> String {
        match self {
            Source::Env(var) => format!(" (from {var})"),
            Source::EnvOwned(var) => format!(" (from {var})"),
            _ => String::new(),
        }
    }

    /// The variable, for values set by the environment.
    pub(crate) fn env_var(&self) -> Option<&str> {
        match self {
            Source::Env(var) => Some(var),
            Source::EnvOwned(var) => Some(var),
            _ => None,
        }
    }
}

/// The state of one validation run.
pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a Path,
    text: &'a str,
    /// The configuration file's folder (absolute when it could be made so).
    pub(crate) base: PathBuf,
    pub(crate) env: &'a dyn Env,
    errors: ConfigErrors,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str, env: &'a dyn Env) -> Self {
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_owned());
        Ctx {
            file,
            text,
            base,
            env,
            errors: ConfigErrors::new(),
        }
    }

    /// Records one problem.
    pub(crate) fn report(
        &mut self,
        key: impl Into<String>,
        source: &Source,
        rule: Rule,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let position = source
            .span()
            .map(|s| Position::of_offset(self.text, s.start));
        self.errors.push(ConfigError::Invalid {
            file: self.file.to_owned(),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
            rule,
            position,
        });
    }

    /// Records an error built elsewhere.
    pub(crate) fn push(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// `path` made absolute against the configuration file's folder.
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base.join(path)
        }
    }

    /// The value of an override variable: `None` when unset; an empty value is reported
    /// against `key` (an empty override is a mistake, not "unset").
    pub(crate) fn env_value(&mut self, var: &str, key: &str) -> Option<String> {
        let value = self.env.var(var)?;
        if value.trim().is_empty() {
            self.report(
                key,
                &Source::EnvOwned(var.to_owned()),
                Rule::EnvOverride,
                format!("the environment variable {var} is set but empty"),
                format!("unset {var} or give it a value"),
            );
            return None;
        }
        Some(value)
    }

    /// How many problems so far.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.len()
    }
}

/// Validates the whole file; `Ok` only when no problem at all was found.
pub(crate) fn validate(raw: RawConfig, ctx: &mut Ctx<'_>) -> Result<Config, ConfigError> {
    let members = members::members(ctx, &raw.members);
    let gateway = gateway::gateway(ctx, &raw.gateway, &members);
    let chains = chains::chains(ctx, &raw.chains);
    let lanes = lanes::lanes(ctx, &raw.lanes, &raw.chains, &members);
    let anchors = anchors::anchors(
        ctx,
        &raw.anchors,
        &raw.chains,
        chains.as_deref(),
        lanes.as_deref(),
        &members,
    );
    let services = services::services(ctx, &raw, gateway.as_ref());
    let relaying = services::relaying(ctx, &raw);

    let mut problems = std::mem::take(&mut ctx.errors);
    problems.sort_by_position();
    problems.into_result()?;
    match (
        gateway,
        members.complete(),
        chains,
        lanes,
        anchors,
        services,
        relaying,
    ) {
        (
            Some(gateway),
            Some(members),
            Some(chains),
            Some(lanes),
            Some(anchors),
            Some((api, storage, monitoring)),
            Some(relaying),
        ) => Ok(Config {
            file: ctx.file.to_owned(),
            gateway,
            members,
            chains,
            lanes,
            anchors,
            api,
            storage,
            monitoring,
            relaying,
        }),
        // Every part that returns `None` has reported why; reaching this arm is a bug, and
        // failing closed with a clear message is the right answer to it.
        _ => Err(ConfigError::Invalid {
            file: ctx.file.to_owned(),
            key: "(configuration)".to_owned(),
            problem: "validation could not build the configuration but reported no reason"
                .to_owned(),
            fix: "report this as a bug in causeway-config".to_owned(),
            rule: Rule::InvalidValue,
            position: None,
        }),
    }
}
