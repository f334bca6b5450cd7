//! Parsing: TOML text to [`RawConfig`], with parse errors turned into [`ConfigError`]s that name
//! the line, the column and the dotted key path; then validation.

use std::path::Path;

use serde_path_to_error::Segment;

use crate::config::Config;
use crate::env::Env;
use crate::error::{ConfigError, Position, Rule};
use crate::raw::RawConfig;
use crate::validate::{Ctx, validate};

pub(crate) fn from_toml_str(
    text: &str,
    origin: &Path,
    env: &dyn Env,
) -> Result<Config, ConfigError> {
    let raw: RawConfig = serde_path_to_error::deserialize(toml::Deserializer::new(text))
        .map_err(|e| parse_error(text, origin, &e))?;
    let mut ctx = Ctx::new(origin, text, env);
    validate(raw, &mut ctx)
}

/// Maps one parse error (the toml crate stops at the first) to an `Invalid` error.
fn parse_error(
    text: &str,
    origin: &Path,
    error: &serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let inner = error.inner();
    let message = inner.message().trim().to_owned();
    let position = inner.span().map(|s| Position::of_offset(text, s.start));
    let mut key = key_path(error.path());

    let (rule, fix) = if let Some(field) = backticked(&message, "unknown field `") {
        let field = field.to_owned();
        (
            Rule::UnknownField,
            format!(
                "remove `{field}` or correct its spelling (see config/examples/gateway.toml for every key)"
            ),
        )
    } else if let Some(field) = backticked(&message, "missing field `") {
        key = join(&key, field);
        (Rule::MissingField, format!("add `{field}` to this table"))
    } else if let Some(dup) = message
        .split_once("duplicate key `")
        .and_then(|(_, rest)| rest.split('`').next())
    {
        // toml reports e.g. "invalid table header\nduplicate key `evm-a` in table `chains`".
        let table = message
            .split("in table `")
            .nth(1)
            .and_then(|t| t.split('`').next());
        key = match table {
            Some(t) if !t.is_empty() => format!("{t}.{dup}"),
            _ => dup.to_owned(),
        };
        (
            Rule::Syntax,
            format!("define `{key}` once: rename or remove the second definition"),
        )
    } else if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("unknown variant")
        || message.starts_with("invalid length")
    {
        (
            Rule::InvalidValue,
            "give this key a value of the expected kind".to_owned(),
        )
    } else {
        (
            Rule::Syntax,
            "correct the TOML syntax at this position".to_owned(),
        )
    };
    ConfigError::Invalid {
        file: origin.to_owned(),
        key: if key.is_empty() {
            "(document)".to_owned()
        } else {
            key
        },
        problem: message,
        fix,
        rule,
        position,
    }
}

/// The text between `prefix` and the next backtick, when `message` starts with `prefix`.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// Renders a serde path as `lanes.a-to-b.threshold` / `members[2].name`, leaving out the
/// private segments that `toml::Spanned` introduces.
fn key_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__serde_spanned_private") || key == "?" {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}
