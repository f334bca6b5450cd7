//! Key files: the one format for 32-byte secrets (validator and privacy keys), and the checks
//! that tie a gateway's own keys to what its `[[members]]` entry publishes.
//!
//! A key file holds the 32 secret bytes as hex (with or without `0x`) or standard base64;
//! surrounding whitespace (a trailing newline) is ignored. Nothing else is in the file.

use core::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use causeway_proofs::EvmAddress;
use k256::elliptic_curve::sec1::ToEncodedPoint as _;
use sha3::{Digest as _, Keccak256};
use zeroize::Zeroizing;

use crate::error::{ConfigError, Rule};
use crate::values::{PrivacyPublicKey, decode_32};

/// A 32-byte secret read from a key file. Wiped from memory on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret32(Zeroizing<[u8; 32]>);

impl Secret32 {
    /// The secret bytes. Keep the borrow short and never log them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret32(redacted)")
    }
}

/// Opens `path` for reading only if it is a regular file, checked before opening (opening a
/// FIFO waits for a writer, for ever if none comes) and again on the opened handle (the same
/// file, not one swapped in between). Errors of kind `InvalidInput` name what the path is.
pub fn open_regular_file(path: &Path) -> std::io::Result<std::fs::File> {
    let not_regular = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is {what}, not a regular file", path.display()),
        )
    };
    let before = std::fs::metadata(path)?;
    if !before.is_file() {
        return Err(not_regular(file_kind(&before)));
    }
    let file = std::fs::File::open(path)?;
    let after = file.metadata()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
            return Err(not_regular("a file that changed while it was opened"));
        }
    }
    if !after.is_file() {
        return Err(not_regular(file_kind(&after)));
    }
    Ok(file)
}

/// What a non-regular file is, for errors.
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if metadata.is_dir() {
        "a folder"
    } else {
        "something else"
    }
}

/// Longest key file read: a key file holds 64 hex digits or 44 base64 characters and a
/// newline; anything much larger is not one.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// The label of the key line of a privacy key file (`causeway_privacy`'s format).
const PRIVACY_KEY_PREFIX: &str = "causeway-x25519-secret-key-v1:";

/// Reads a 32-byte secret from `path` (hex or base64, whitespace trimmed; `#` lines are
/// comments; the privacy key files `causeway keys generate privacy` writes are read too). The error names the
/// key file, never its contents. At most [`MAX_KEY_FILE_LEN`] bytes are read, whatever the
/// file claims to be (`/dev/zero` or a pipe is refused after that many bytes). Permissions are
/// checked by [`crate::Config::load`], not here.
pub fn read_secret_key_file(path: &Path) -> Result<Secret32, ConfigError> {
    let unreadable = |e: std::io::Error| ConfigError::Invalid {
        file: path.to_owned(),
        key: "(key file)".to_owned(),
        problem: format!("cannot read the key file: {e}"),
        fix: format!(
            "check that {} exists and is readable by this user",
            path.display()
        ),
        rule: Rule::FileMissing,
        position: None,
    };
    let file = open_regular_file(path).map_err(unreadable)?;
    // Allocated once, so no reallocation leaves a copy of the secret behind.
    let mut raw = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_LEN as usize + 1));
    file.take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut raw)
        .map_err(unreadable)?;
    if raw.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(contents_error(
            path,
            &format!("the file is larger than {MAX_KEY_FILE_LEN} bytes"),
        ));
    }
    let text = std::str::from_utf8(&raw).map_err(|_| contents_error(path, "not UTF-8 text"))?;
    // `#` lines are comments, as in the key files `causeway keys generate privacy` writes
    // (`causeway-x25519-secret-key-v1:<base64>` after a few comment lines).
    let body = Zeroizing::new(
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let body = body.trim();
    let body = body.strip_prefix(PRIVACY_KEY_PREFIX).unwrap_or(body);
    let bytes = decode_32(body.trim()).map_err(|reason| contents_error(path, &reason))?;
    Ok(Secret32(Zeroizing::new(bytes)))
}

fn contents_error(path: &Path, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        file: path.to_owned(),
        key: "(key file)".to_owned(),
        problem: format!("the file does not hold a 32-byte key: {reason}"),
        fix: "write the 32 secret bytes as 64 hex digits or as base64, and nothing else".to_owned(),
        rule: Rule::KeyFileContents,
        position: None,
    }
}

/// The validator address (keccak-256 of the uncompressed public key, last 20 bytes, as
/// Solidity's `ecrecover` names it) of a secp256k1 secret, or why the secret is unusable.
pub(crate) fn validator_address(secret: &Secret32) -> Result<EvmAddress, String> {
    let key = k256::SecretKey::from_slice(secret.expose_secret()).map_err(
        |_| "the 32 bytes are not a valid secp256k1 secret key (zero or not below the group order)",
    )?;
    let point = key.public_key().to_encoded_point(false);
    let digest = Keccak256::digest(&point.as_bytes()[1..]);
    let mut address = [0u8; 20];
    address.copy_from_slice(&digest[12..]);
    Ok(EvmAddress(address))
}

/// The X25519 public key of a privacy secret.
pub(crate) fn privacy_public_key(secret: &Secret32) -> PrivacyPublicKey {
    let secret = x25519_dalek::StaticSecret::from(*secret.expose_secret());
    PrivacyPublicKey::from_bytes(x25519_dalek::PublicKey::from(&secret).to_bytes())
}

/// A key file that passed the file checks and must now match a published value.
pub(crate) struct OwnKeyCheck<'a> {
    pub(crate) file: &'a Path,
    pub(crate) key: &'a str,
    pub(crate) path: &'a PathBuf,
}

impl OwnKeyCheck<'_> {
    fn error(&self, rule: Rule, problem: String, fix: String) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_owned(),
            key: self.key.to_owned(),
            problem,
            fix,
            rule,
            position: None,
        }
    }

    fn read(&self) -> Result<Secret32, ConfigError> {
        read_secret_key_file(self.path).map_err(|e| match e {
            ConfigError::Invalid {
                problem, fix, rule, ..
            } => self.error(rule, format!("{}: {problem}", self.path.display()), fix),
            other => other,
        })
    }

    /// Checks that the validator key's address is `expected` (the member entry `member_key`).
    pub(crate) fn validator(
        &self,
        expected: &EvmAddress,
        member_key: &str,
    ) -> Result<(), ConfigError> {
        let secret = self.read()?;
        let actual = validator_address(&secret).map_err(|reason| {
            self.error(
                Rule::KeyFileContents,
                format!("{}: {reason}", self.path.display()),
                "generate a fresh secp256k1 validator key".to_owned(),
            )
        })?;
        self.expect_key(
            "validator",
            "belongs to validator",
            &actual,
            expected,
            member_key,
        )
    }

    /// Checks that the privacy key's public key is `expected` (the member entry `member_key`).
    pub(crate) fn privacy(
        &self,
        expected: &PrivacyPublicKey,
        member_key: &str,
    ) -> Result<(), ConfigError> {
        let actual = privacy_public_key(&self.read()?);
        self.expect_key("privacy", "has public key", &actual, expected, member_key)
    }

    /// `Ok` when the file's key (`actual`) is the `kind` key the member entry `member_key`
    /// publishes (`expected`); else the mismatch, saying what the file's key is (`found`, e.g.
    /// "has public key") and how to resolve it.
    fn expect_key<K: PartialEq + std::fmt::Display>(
        &self,
        kind: &str,
        found: &str,
        actual: &K,
        expected: &K,
        member_key: &str,
    ) -> Result<(), ConfigError> {
        if actual == expected {
            return Ok(());
        }
        Err(self.error(
            Rule::KeyMismatch,
            format!(
                "the key in {} {found} {actual}, but {member_key} publishes {expected}",
                self.path.display()
            ),
            format!(
                "point {} at this organisation's {kind} key, or (after a key rotation agreed with the \
                 consortium) set {member_key} = \"{actual}\"",
                self.key
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn validator_address_of_the_secret_0x01_repeated() {
        // Private key 0x0101…01 and its address 0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1
        // appear together in go-ethereum's and ethers' documentation and test suites.
        let secret = Secret32(Zeroizing::new([1u8; 32]));
        assert_eq!(
            validator_address(&secret).unwrap(),
            "0x1a642f0e3c3af545e7acbd38b07251b3990914f1"
                .parse()
                .unwrap()
        );
        assert!(validator_address(&Secret32(Zeroizing::new([0u8; 32]))).is_err());
        assert!(validator_address(&Secret32(Zeroizing::new([0xff; 32]))).is_err());
    }

    #[test]
    fn privacy_public_key_matches_rfc7748_alice() {
        // RFC 7748 §6.1: Alice's private key and public key.
        let secret: [u8; 32] =
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap()
                .try_into()
                .unwrap();
        let public = privacy_public_key(&Secret32(Zeroizing::new(secret)));
        assert_eq!(
            hex::encode(public.as_bytes()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
    }

    #[test]
    fn key_files_hold_hex_or_base64_and_debug_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let hex_file = dir.path().join("hex.key");
        std::fs::write(&hex_file, format!("0x{}\n", "ab".repeat(32))).unwrap();
        let s = read_secret_key_file(&hex_file).unwrap();
        assert_eq!(s.expose_secret(), &[0xab; 32]);
        assert_eq!(format!("{s:?}"), "Secret32(redacted)");

        let b64_file = dir.path().join("b64.key");
        std::fs::write(&b64_file, "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=").unwrap();
        assert_eq!(
            read_secret_key_file(&b64_file).unwrap().expose_secret(),
            &[0xab; 32]
        );

        // The privacy crate's key file: comment lines, then the labelled base64 key.
        let privacy_file = dir.path().join("privacy.key");
        std::fs::write(
            &privacy_file,
            "# Causeway X25519 privacy key. Keep it secret.\n# key id: 5d1a\n\
             causeway-x25519-secret-key-v1:q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
        )
        .unwrap();
        assert_eq!(
            read_secret_key_file(&privacy_file).unwrap().expose_secret(),
            &[0xab; 32]
        );

        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, "not a key").unwrap();
        let e = read_secret_key_file(&bad).unwrap_err();
        assert_eq!(e.rule(), Some(Rule::KeyFileContents));
        assert!(
            !e.to_string().contains("not a key"),
            "the contents must not be echoed: {e}"
        );

        let e = read_secret_key_file(&dir.path().join("absent.key")).unwrap_err();
        assert_eq!(e.rule(), Some(Rule::FileMissing));
    }

    #[test]
    fn an_endless_or_oversized_key_file_is_refused() {
        // /dev/zero reports a length of 0 and never ends: refused unread, as not a regular file.
        let e = read_secret_key_file(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.rule(), Some(Rule::FileMissing));
        assert!(
            e.to_string().contains("is a device, not a regular file"),
            "{e}"
        );
        // A regular file far larger than a key: the read stops after the limit.
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.key");
        std::fs::write(&big, "0".repeat(1 << 20)).unwrap();
        let e = read_secret_key_file(&big).unwrap_err();
        assert_eq!(e.rule(), Some(Rule::KeyFileContents));
        assert!(e.to_string().contains("larger than 4096 bytes"), "{e}");
    }
}
