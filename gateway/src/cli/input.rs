//! Bounded reads of the files a command is given.
//!
//! A path may name anything: a regular file, `/dev/zero`, a pipe (`/dev/stdin`, `<(…)`), a
//! FIFO. The length a file reports is not trusted (a pipe reports 0, `/dev/zero` never ends):
//! every read takes at most `max + 1` bytes and refuses the input if the extra byte arrived,
//! so an endless input costs at most `max + 1` bytes of memory and then a clear error.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use zeroize::Zeroizing;

/// Reads at most `max` bytes from the open `reader` (named `path` in errors) into `bytes`;
/// refuses more.
fn read_limited(reader: impl Read, path: &Path, max: u64, bytes: &mut Vec<u8>) -> Result<()> {
    reader
        .take(max.saturating_add(1))
        .read_to_end(bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    ensure!(
        bytes.len() as u64 <= max,
        "{} is larger than the {max} bytes accepted (stopped reading there)",
        path.display()
    );
    Ok(())
}

/// Reads the UTF-8 text of `path`, at most `max` bytes.
pub(crate) fn read_text(path: &Path, max: u64) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    read_limited(file, path, max, &mut bytes)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads a secret's text from an already opened `file`, at most `max` bytes (a small limit:
/// the buffer is allocated once, so no copy of the secret is left behind by a reallocation),
/// into memory that is wiped when dropped.
pub(crate) fn read_secret_text(file: File, path: &Path, max: u64) -> Result<Zeroizing<String>> {
    let capacity = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    read_limited(file, path, max, &mut bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
    Ok(Zeroizing::new(text.to_owned()))
}
