//! Key files: the only files this crate opens.
//!
//! Format (UTF-8 text; `#` lines are comments, written for humans and ignored when read):
//!
//! ```text
//! # Causeway X25519 privacy key. Keep it secret: mode 0600, never commit it.
//! # key id: 5d1a…
//! # public key: 3948cfe0…
//! causeway-x25519-secret-key-v1:<base64 of the 32-byte private key>
//! ```
//!
//! Security decisions: files are created with mode 0600 and never overwritten; a file that
//! group or others may read is refused with an error telling the operator what to run (as
//! OpenSSH does for identity files). The check uses the metadata of the opened handle, so the
//! file cannot be swapped between the check and the read. Buffers holding the secret are
//! zeroized.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::{KEY_LEN, KeyPair};
use crate::Error;

/// Prefix of the key line.
const KEY_LINE_PREFIX: &str = "causeway-x25519-secret-key-v1:";

/// A key file is a few hundred bytes; anything much larger is not one.
const MAX_KEY_FILE_LEN: u64 = 4096;

impl KeyPair {
    /// Writes the key to a new file `path` with mode 0600. Refuses to overwrite an existing file.
    pub fn write_to_file(&self, path: &Path) -> Result<(), Error> {
        let io_err = |action, source| Error::KeyFileIo {
            path: path.to_path_buf(),
            action,
            source,
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| io_err("create", e))?;
        #[cfg(unix)]
        {
            // The umask can only remove bits from 0600, but be explicit.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io_err("set permissions of", e))?;
        }
        let contents = Zeroizing::new(format!(
            "# Causeway X25519 privacy key. Keep it secret: mode 0600, never commit it.\n\
             # key id: {}\n# public key: {}\n{}{}\n",
            self.key_id(),
            self.public_key(),
            KEY_LINE_PREFIX,
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.secret_bytes()))
                .as_str(),
        ));
        file.write_all(contents.as_bytes())
            .map_err(|e| io_err("write", e))?;
        file.sync_all().map_err(|e| io_err("write", e))?;
        Ok(())
    }

    /// Reads a key file written by [`KeyPair::write_to_file`]. Refuses a file that group or
    /// others may read ([`Error::KeyFilePermissions`]).
    pub fn read_from_file(path: &Path) -> Result<KeyPair, Error> {
        let io_err = |action, source| Error::KeyFileIo {
            path: path.to_path_buf(),
            action,
            source,
        };
        let format_err = |reason: String| Error::KeyFileFormat {
            path: path.to_path_buf(),
            reason,
        };
        // Checked before opening too: opening a FIFO waits for a writer, for ever if none comes.
        if !std::fs::metadata(path)
            .map_err(|e| io_err("open", e))?
            .is_file()
        {
            return Err(format_err("not a regular file".into()));
        }
        let file = File::open(path).map_err(|e| io_err("open", e))?;
        let metadata = file.metadata().map_err(|e| io_err("read metadata of", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = metadata.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(Error::KeyFilePermissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        if !metadata.is_file() {
            return Err(format_err("not a regular file".into()));
        }
        // Refused before anything is read (the read below is bounded too, in case the file
        // grows in between).
        if metadata.len() > MAX_KEY_FILE_LEN {
            return Err(format_err(format!(
                "{} bytes, larger than {MAX_KEY_FILE_LEN} bytes: not a key file",
                metadata.len()
            )));
        }
        let raw = read_bounded(file, MAX_KEY_FILE_LEN).map_err(|e| io_err("read", e))?;
        if raw.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(format_err(format!("larger than {MAX_KEY_FILE_LEN} bytes")));
        }
        let text = std::str::from_utf8(&raw).map_err(|_| format_err("not UTF-8 text".into()))?;
        let mut key_lines = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'));
        let line = key_lines
            .next()
            .ok_or_else(|| format_err("no key line".into()))?;
        if key_lines.next().is_some() {
            return Err(format_err("more than one key line".into()));
        }
        let encoded = line.strip_prefix(KEY_LINE_PREFIX).ok_or_else(|| {
            format_err(format!("the key line must start with {KEY_LINE_PREFIX:?}"))
        })?;
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format_err(format!("key is not base64: {e}")))?,
        );
        let mut secret = Zeroizing::new([0u8; KEY_LEN]);
        if decoded.len() != KEY_LEN {
            return Err(format_err(format!(
                "key is {} bytes, expected {KEY_LEN}",
                decoded.len()
            )));
        }
        secret.copy_from_slice(&decoded);
        Ok(KeyPair::from_secret_bytes(*secret))
    }
}

/// Reads at most `max + 1` bytes of `input` (one more than allowed, so an oversized input is
/// detected even when its size was not known) into one zeroizing buffer allocated up front:
/// `read_to_end` into a growing `Vec` would leave copies of the secret in every buffer it
/// outgrew and in its stack probe buffer, none of them zeroized.
pub(crate) fn read_bounded(
    mut input: impl std::io::Read,
    max: u64,
) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let cap = usize::try_from(max).unwrap_or(usize::MAX - 1) + 1;
    let mut raw = Zeroizing::new(vec![0u8; cap]);
    let mut n = 0;
    while n < cap {
        match input.read(&mut raw[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // Shrinks the length only: the allocation (zeroized whole on drop) stays where it is.
    raw.truncate(n);
    Ok(raw)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A reader that serves `data` a few bytes at a time and records the address range of
    /// every buffer it was asked to fill.
    struct Recording {
        data: Vec<u8>,
        at: usize,
        buffers: Vec<(usize, usize)>,
    }

    impl std::io::Read for Recording {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let start = buf.as_ptr() as usize;
            self.buffers.push((start, start + buf.len()));
            let n = buf.len().min(7).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Finding: reading a key into a growing `Vec` leaves copies of the secret in memory freed
    /// by each reallocation (and in a stack probe buffer). Every read must land in the one
    /// zeroizing buffer that is returned.
    #[test]
    fn a_key_is_read_into_one_buffer_that_never_moves() {
        for len in [0usize, 1, 31, 32, 33, 100, 300, 4096, 5000] {
            let mut rec = Recording {
                data: vec![0x41; len],
                at: 0,
                buffers: vec![],
            };
            let raw = read_bounded(&mut rec, 4096).unwrap();
            assert_eq!(raw.len(), len.min(4097));
            let (lo, hi) = (
                raw.as_ptr() as usize,
                raw.as_ptr() as usize + raw.capacity(),
            );
            for (start, end) in &rec.buffers {
                assert!(
                    lo <= *start && *end <= hi,
                    "len {len}: a read went to {start:#x}..{end:#x}, outside the returned \
                     buffer {lo:#x}..{hi:#x} (a copy left behind)"
                );
            }
        }
    }
}
