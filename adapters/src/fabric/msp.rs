//! Loading identities and roots from a Fabric MSP folder (as written by `cryptogen` or a
//! Fabric CA client): `signcerts/` holds the identity's certificate, `keystore/` its PKCS#8
//! P-256 private key, `cacerts/` the organisation's root CAs and `tlscacerts/` the roots of its
//! TLS certificates. The MSP id is not in the folder; the configuration gives it.
//!
//! Every error is an [`Error::Config`] naming the file or folder at fault.

use std::fs;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::identity::{MspRoots, SigningIdentity};
use crate::Error;

/// An MSP folder on disk.
#[derive(Clone, Debug)]
pub struct MspFolder {
    path: PathBuf,
    mspid: String,
}

impl MspFolder {
    /// The MSP folder at `path`, whose identities belong to `mspid`.
    pub fn new(path: impl Into<PathBuf>, mspid: &str) -> Self {
        Self {
            path: path.into(),
            mspid: mspid.to_owned(),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The MSP id.
    pub fn mspid(&self) -> &str {
        &self.mspid
    }

    /// The signing identity: the single certificate in `signcerts/` and the single key in
    /// `keystore/`, which must be the certificate's.
    pub fn signing_identity(&self) -> Result<SigningIdentity, Error> {
        let certificate = single_file(&self.path.join("signcerts"), Some("pem"))?;
        let key = single_file(&self.path.join("keystore"), None)?;
        let certificate_pem = read(&certificate)?;
        // The key's bytes are wiped when dropped, whichever way this returns.
        let key_bytes = Zeroizing::new(read(&key)?);
        let key_pem = Zeroizing::new(
            std::str::from_utf8(&key_bytes)
                .map_err(|_| Error::Config {
                    reason: format!("private key {} is not PEM text", key.display()),
                })?
                .to_owned(),
        );
        SigningIdentity::from_pem(&self.mspid, &certificate_pem, &key_pem).map_err(|e| {
            Error::Config {
                reason: format!(
                    "MSP identity from {} and {}: {e}",
                    certificate.display(),
                    key.display()
                ),
            }
        })
    }

    /// The organisation's root CAs, from `cacerts/`.
    pub fn roots(&self) -> Result<MspRoots, Error> {
        let folder = self.path.join("cacerts");
        let certificates = pem_files(&folder)?
            .iter()
            .map(|path| read(path))
            .collect::<Result<Vec<_>, _>>()?;
        MspRoots::new(&self.mspid, &certificates).map_err(|e| Error::Config {
            reason: format!("root CAs in {}: {e}", folder.display()),
        })
    }

    /// The PEM of the roots of the organisation's TLS certificates (`tlscacerts/`), all files
    /// concatenated: what [`super::client::TlsConfig::ca_pem`] takes.
    pub fn tls_roots_pem(&self) -> Result<Vec<u8>, Error> {
        let folder = self.path.join("tlscacerts");
        let mut pem = Vec::new();
        for path in pem_files(&folder)? {
            let mut bytes = read(&path)?;
            if !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
            pem.extend(bytes);
        }
        Ok(pem)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::Config {
        reason: format!("cannot read {}: {e}", path.display()),
    })
}

/// The regular files in `folder` (those ending in `.extension`, if given), sorted by name.
fn files(folder: &Path, extension: Option<&str>) -> Result<Vec<PathBuf>, Error> {
    let entries = fs::read_dir(folder).map_err(|e| Error::Config {
        reason: format!("cannot read MSP folder {}: {e}", folder.display()),
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::Config {
                reason: format!("cannot read MSP folder {}: {e}", folder.display()),
            })?
            .path();
        let wanted = extension.is_none_or(|ext| path.extension().is_some_and(|e| e == ext));
        if path.is_file() && wanted {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn pem_files(folder: &Path) -> Result<Vec<PathBuf>, Error> {
    let found = files(folder, Some("pem"))?;
    if found.is_empty() {
        return Err(Error::Config {
            reason: format!("MSP folder {} holds no .pem certificate", folder.display()),
        });
    }
    Ok(found)
}

fn single_file(folder: &Path, extension: Option<&str>) -> Result<PathBuf, Error> {
    let mut found = files(folder, extension)?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::Config {
            reason: format!("MSP folder {} is empty", folder.display()),
        }),
        n => Err(Error::Config {
            reason: format!(
                "MSP folder {} holds {n} files where one is expected",
                folder.display()
            ),
        }),
    }
}
