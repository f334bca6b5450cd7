//! Paths in the configuration: overrides from the environment, resolution against the file's
//! folder, and the checks on the files they name (present; key files private to their owner).

use std::path::{Path, PathBuf};

use super::{Ctx, Source};
use crate::error::Rule;
use crate::raw::S;

/// A path and where it came from.
pub(crate) struct Located {
    pub(crate) path: PathBuf,
    pub(crate) source: Source,
}

/// The path for `key`: the environment variable `var` when set, else the file's value, else a
/// `MissingField` report. Relative paths are resolved against the configuration's folder.
pub(crate) fn path_or_env(
    ctx: &mut Ctx<'_>,
    key: &str,
    from_file: Option<&S<PathBuf>>,
    var: &'static str,
    table: &Source,
    example: &str,
) -> Option<Located> {
    if ctx.env.var(var).is_some() {
        let value = ctx.env_value(var, key)?;
        return Some(Located {
            path: ctx.resolve(Path::new(&value)),
            source: Source::Env(var),
        });
    }
    match from_file {
        Some(p) => Some(Located {
            path: ctx.resolve(p.get_ref()),
            source: Source::File(p.span()),
        }),
        None => {
            ctx.report(
                key,
                table,
                Rule::MissingField,
                format!("no {} is configured", leaf(key)),
                format!(
                    "add {} = \"{example}\" or set the environment variable {var}",
                    leaf(key)
                ),
            );
            None
        }
    }
}

/// The path of a file value, resolved.
pub(crate) fn located(ctx: &Ctx<'_>, value: &S<PathBuf>) -> Located {
    Located {
        path: ctx.resolve(value.get_ref()),
        source: Source::File(value.span()),
    }
}

/// The last segment of a dotted key.
fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Checks that a secret file exists, is a readable regular file, and (on Unix) that neither
/// group nor others have any permission on it. Returns whether it passed.
pub(crate) fn secret_file(ctx: &mut Ctx<'_>, key: &str, file: &Located) -> bool {
    if !existing_file(ctx, key, file, "key file") {
        return false;
    }
    permissions_private(ctx, key, file)
}

#[cfg(unix)]
fn permissions_private(ctx: &mut Ctx<'_>, key: &str, file: &Located) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = match std::fs::metadata(&file.path) {
        Ok(m) => m.permissions().mode() & 0o777,
        Err(_) => return false, // reported by `existing_file`, which just succeeded
    };
    // Any bit for group or others (read, write or execute) is refused: a key readable by
    // another account is a key shared with it, and a writable one can be swapped.
    if mode & 0o077 == 0 {
        return true;
    }
    ctx.report(
        key,
        &file.source,
        Rule::KeyFilePermissions,
        format!(
            "key file {}{} has mode {mode:04o}: group or others may read or change it",
            file.path.display(),
            file.source.note()
        ),
        format!("chmod 600 {}", file.path.display()),
    );
    false
}

#[cfg(not(unix))]
fn permissions_private(_ctx: &mut Ctx<'_>, _key: &str, _file: &Located) -> bool {
    // Only Unix modes are checked; on other systems the operator must restrict the ACL.
    true
}

/// Checks that a (non-secret) file such as a certificate exists and is readable.
pub(crate) fn public_file(ctx: &mut Ctx<'_>, key: &str, file: &Located) -> bool {
    existing_file(ctx, key, file, "file")
}

fn existing_file(ctx: &mut Ctx<'_>, key: &str, file: &Located, what: &str) -> bool {
    let shown = file.path.display().to_string();
    let note = file.source.note();
    let where_fix = match file.source.env_var() {
        Some(var) => format!("correct {var}"),
        None => format!(
            "correct {key} (relative paths are resolved against {})",
            ctx.base.display()
        ),
    };
    let problem = match std::fs::metadata(&file.path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("{what} {shown}{note} does not exist")
        }
        Err(e) => format!("{what} {shown}{note} cannot be read: {e}"),
        Ok(m) if !m.is_file() => format!("{what} {shown}{note} is not a regular file"),
        Ok(_) => match std::fs::File::open(&file.path) {
            Ok(_) => return true,
            Err(e) => format!("{what} {shown}{note} cannot be opened: {e}"),
        },
    };
    ctx.report(
        key,
        &file.source,
        Rule::FileMissing,
        problem,
        format!("create {shown} or {where_fix}"),
    );
    false
}
