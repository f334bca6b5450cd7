//! Parsing: TOML text to [`RawConfig`], with parse errors turned into [`ConfigError`]s that name
//! the line, the column and the dotted key path; then validation. Syntax and schema errors are
//! told apart by parsing the document before deserializing it; keys come from serde's path or
//! from the source at toml's span.

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
    // TOML first, on its own: whatever fails here is a syntax error (a key defined twice
    // included), whatever fails after it is the schema's. The split is structural, not read
    // from the error's wording.
    text.parse::<toml::Table>()
        .map_err(|e| syntax_error(text, origin, &e))?;
    let raw: RawConfig = serde_path_to_error::deserialize(toml::Deserializer::new(text))
        .map_err(|e| schema_error(text, origin, &e))?;
    let mut ctx = Ctx::new(origin, text, env);
    validate(raw, &mut ctx)
}

/// A document that is not TOML. The key is the table header or key/value line at the error's
/// position (toml reports a key defined twice at its second definition), read with toml's own
/// key syntax.
fn syntax_error(text: &str, origin: &Path, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map(|s| s.start);
    let key = offset
        .filter(|&at| is_redefinition(text, at))
        .and_then(|at| key_defined_at(text, at));
    let fix = match &key {
        Some(key) => format!("define `{key}` once: rename or remove the second definition"),
        None => "correct the TOML syntax at this position".to_owned(),
    };
    ConfigError::Invalid {
        file: origin.to_owned(),
        key: key.unwrap_or_else(|| "(document)".to_owned()),
        problem: error.message().trim().to_owned(),
        fix,
        rule: Rule::Syntax,
        position: offset.map(|at| Position::of_offset(text, at)),
    }
}

/// Whether the line at `offset` is well-formed TOML that the document before it already
/// defined (toml's "duplicate key"): the text up to the end of that line fails to parse while
/// the text before the line parses, and so does the line on its own.
fn is_redefinition(text: &str, offset: usize) -> bool {
    let at = char_boundary(text, offset);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[line_start..line_end];
    text[..line_start].parse::<toml::Table>().is_ok() && line.parse::<toml::Table>().is_ok()
}

/// `offset` clamped to `text` and moved back to a character boundary.
fn char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The dotted key that the table header or key/value line at `offset` defines.
fn key_defined_at(text: &str, offset: usize) -> Option<String> {
    let at = char_boundary(text, offset);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?.trim();
    if line.starts_with('[') {
        return header_key(line);
    }
    // `key = value` inside the table of the nearest header above it.
    let key = dotted_key(line.split_once('=')?.0)?;
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .and_then(header_key);
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key,
    })
}

/// The key of a `[table]` or `[[array]]` header line.
fn header_key(line: &str) -> Option<String> {
    let inner = line.trim_start_matches('[');
    dotted_key(&inner[..inner.find(']')?])
}

/// A TOML key as written (bare, quoted or dotted), read by toml itself: `<key> = 0` is a
/// document with a single path, which is the key's.
fn dotted_key(written: &str) -> Option<String> {
    let document: toml::Table = format!("{written} = 0").parse().ok()?;
    let mut parts = Vec::new();
    let mut table = &document;
    loop {
        let (key, value) = table.iter().next()?;
        parts.push(key.clone());
        match value {
            toml::Value::Table(inner) => table = inner,
            _ => return Some(parts.join(".")),
        }
    }
}

/// A TOML document that does not fit the schema. The key path is serde's (through
/// `serde_path_to_error`) and the position toml's span; the kind of mismatch is serde's too,
/// but neither serde's nor toml's error type carries it as data: serde's `de::Error` builds
/// unknown-field, missing-field and type errors only as text (its `unknown_field`,
/// `missing_field`, `invalid_type`… default methods, which toml does not override), so
/// [`SchemaMismatch::of`] reads serde's fixed wording of those.
fn schema_error(
    text: &str,
    origin: &Path,
    error: &serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let inner = error.inner();
    let message = inner.message().trim().to_owned();
    let mut key = key_path(error.path());
    let (rule, fix) = match SchemaMismatch::of(&message) {
        SchemaMismatch::UnknownField => {
            // The path ends at the unknown key itself.
            let field = error
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    Segment::Map { key } => Some(key.as_str()),
                    _ => None,
                })
                .next_back()
                .unwrap_or("this key")
                .to_owned();
            (
                Rule::UnknownField,
                format!(
                    "remove `{field}` or correct its spelling (see config/examples/gateway.toml for every key)"
                ),
            )
        }
        SchemaMismatch::MissingField(field) => {
            key = join(&key, field);
            (Rule::MissingField, format!("add `{field}` to this table"))
        }
        SchemaMismatch::WrongValue => (
            Rule::InvalidValue,
            "give this key a value of the expected kind".to_owned(),
        ),
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
        position: inner.span().map(|s| Position::of_offset(text, s.start)),
    }
}

/// How a TOML document that parsed failed the schema.
#[derive(Debug, PartialEq, Eq)]
enum SchemaMismatch<'m> {
    /// A key the schema does not define (`deny_unknown_fields`).
    UnknownField,
    /// A required key, named, is absent.
    MissingField(&'m str),
    /// A value of the wrong type, range, variant or length (and any custom refusal).
    WrongValue,
}

impl<'m> SchemaMismatch<'m> {
    /// serde's wording of `de::Error::unknown_field` and `missing_field` (serde 1.x
    /// `de/mod.rs`); every other schema error is about a value.
    fn of(message: &'m str) -> Self {
        if message.starts_with("unknown field `") {
            SchemaMismatch::UnknownField
        } else if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            SchemaMismatch::MissingField(field)
        } else {
            SchemaMismatch::WrongValue
        }
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_read_with_toml_syntax() {
        assert_eq!(dotted_key("chains.evm-a").as_deref(), Some("chains.evm-a"));
        assert_eq!(
            dotted_key(" lanes . \"a.b\" ").as_deref(),
            Some("lanes.a.b")
        );
        assert_eq!(dotted_key("not a key"), None);
        assert_eq!(header_key("[[members]]").as_deref(), Some("members"));
        assert_eq!(header_key("[ chains.x ] # c").as_deref(), Some("chains.x"));
    }

    #[test]
    fn a_key_defined_twice_is_named_from_its_position() {
        let text = "[gateway]\nname = \"a\"\n\n[chains.x]\nid = 1\nid = 2\n";
        let err = text.parse::<toml::Table>().unwrap_err();
        let at = err.span().unwrap().start;
        assert!(is_redefinition(text, at));
        assert_eq!(key_defined_at(text, at).as_deref(), Some("chains.x.id"));
        // An unclosed header is not a redefinition.
        let text = "[gateway]\n[chains\n";
        let at = text
            .parse::<toml::Table>()
            .unwrap_err()
            .span()
            .unwrap()
            .start;
        assert!(!is_redefinition(text, at));
    }

    #[test]
    fn schema_mismatches_by_serde_wording() {
        assert_eq!(
            SchemaMismatch::of("unknown field `x`, expected one of `a`, `b`"),
            SchemaMismatch::UnknownField
        );
        assert_eq!(
            SchemaMismatch::of("missing field `peer_listen`"),
            SchemaMismatch::MissingField("peer_listen")
        );
        assert_eq!(
            SchemaMismatch::of("invalid type: string \"2\", expected u32"),
            SchemaMismatch::WrongValue
        );
    }
}
