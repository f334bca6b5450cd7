//! TLS to PostgreSQL: `sslmode=verify-full` with rustls (ring), the server's certificate checked
//! against the CA in `sslrootcert` and against the host name connected to, as libpq's
//! `verify-full` does. The weaker modes are refused: `require` and `verify-ca` would encrypt to
//! a server whose identity is not (fully) checked, so a network attacker could read the
//! password exchange's channel and every row; `prefer` and `disable` connect in the clear
//! (loopback or a Unix socket only).
//!
//! rust-postgres' URL parser knows neither `verify-full` nor `sslrootcert`: [`split`] takes
//! both out of the URL (the rest is parsed as before) and says what to connect with.

use std::path::PathBuf;
use std::sync::Arc;

use postgres::NoTls;
use postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::Error;
use crate::store::Result;

/// How a [`PgStore`](super::PgStore) connects: in the clear, or over TLS with the server
/// checked.
#[derive(Clone)]
pub(super) enum Connector {
    /// No TLS (`sslmode=disable` or `prefer`: this build never negotiates TLS unasked).
    Plain,
    /// TLS, the server's certificate checked against the configured CA and host name.
    VerifyFull(MakeRustlsConnect),
}

impl Connector {
    /// Opens a connection with `config` (its `sslmode` already set to match).
    pub(super) fn connect(
        &self,
        config: &postgres::Config,
    ) -> std::result::Result<postgres::Client, postgres::Error> {
        match self {
            Connector::Plain => config.connect(NoTls),
            Connector::VerifyFull(tls) => config.connect(tls.clone()),
        }
    }

    /// Opens a pooled connection with `config` (its `sslmode` already set to match): the
    /// client, and the connection's I/O, which makes progress only while it is polled (see
    /// [`Conn`](super::Conn)).
    pub(super) async fn connect_async(
        &self,
        config: &tokio_postgres::Config,
    ) -> std::result::Result<(tokio_postgres::Client, super::Io), postgres::Error> {
        match self {
            Connector::Plain => {
                let (client, io) = config.connect(NoTls).await?;
                Ok((client, Box::pin(io)))
            }
            Connector::VerifyFull(tls) => {
                let (client, io) = config.connect(tls.clone()).await?;
                Ok((client, Box::pin(io)))
            }
        }
    }
}

/// What [`split`] found in a URL.
pub(super) struct Split {
    /// The URL without `sslmode` and `sslrootcert` (rust-postgres parses the rest).
    pub(super) url: String,
    /// `sslmode=verify-full`'s CA file, when asked for.
    pub(super) verify_full: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of `url` (the `postgres://…?a=b&c=d` form, or libpq's
/// `key=value` form).
pub(super) fn split(url: &str) -> Result<Split> {
    let (head, params, sep) = match url.split_once("://") {
        Some(_) => match url.split_once('?') {
            Some((head, query)) => (head.to_owned(), query.split('&').collect::<Vec<_>>(), "&"),
            None => (url.to_owned(), Vec::new(), "&"),
        },
        None => (
            String::new(),
            url.split_whitespace().collect::<Vec<_>>(),
            " ",
        ),
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::with_capacity(params.len());
    for p in params {
        match p.split_once('=') {
            Some(("sslmode", v)) => mode = Some(v.to_owned()),
            Some(("sslrootcert", v)) => root = Some(PathBuf::from(v)),
            _ if p.is_empty() => {}
            _ => kept.push(p),
        }
    }
    let verify_full = match (mode.as_deref(), root) {
        (Some("verify-full"), Some(root)) => Some(root),
        (Some("verify-full"), None) => {
            return Err(Error::Config {
                reason: "sslmode=verify-full needs sslrootcert=FILE in the PostgreSQL URL (the \
                         PEM certificate of the CA that issued the server's)"
                    .into(),
            });
        }
        (Some(m @ ("require" | "verify-ca")), _) => {
            return Err(Error::Config {
                reason: format!(
                    "sslmode={m} does not check that the server is the one named in the URL: \
                     use sslmode=verify-full with sslrootcert=FILE (the CA that issued the \
                     server's certificate)"
                ),
            });
        }
        (Some("disable" | "prefer") | None, Some(_)) => {
            return Err(Error::Config {
                reason: "sslrootcert is set but sslmode is not verify-full: add \
                         sslmode=verify-full to the PostgreSQL URL (or remove sslrootcert)"
                    .into(),
            });
        }
        (Some("disable" | "prefer") | None, None) => None,
        (Some(other), _) => {
            return Err(Error::Config {
                reason: format!(
                    "sslmode={other} is not a mode this build knows: use verify-full (TLS, \
                     the server checked) or disable"
                ),
            });
        }
    };
    let url = match (head.is_empty(), kept.is_empty()) {
        (true, _) => kept.join(sep),
        (false, true) => head,
        (false, false) => format!("{head}?{}", kept.join(sep)),
    };
    Ok(Split { url, verify_full })
}

/// The connector for `split`, and the `sslmode` to set on the parsed configuration.
pub(super) fn connector(split: &Split) -> Result<(Connector, SslMode)> {
    let Some(root) = &split.verify_full else {
        return Ok((Connector::Plain, SslMode::Disable));
    };
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let unreadable = |reason: String| Error::Config {
        reason: format!(
            "sslrootcert {}: {reason} (fix: point it at the PEM certificate of the CA that \
             issued the PostgreSQL server's certificate)",
            root.display()
        ),
    };
    let pem = read_bounded(root).map_err(unreadable)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unreadable(format!("not a PEM certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| unreadable(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(unreadable("it holds no certificate".into()));
    }
    // ring, as everywhere else in the workspace; TLS 1.2 and 1.3 (PostgreSQL 15 speaks both);
    // rustls' default verifier checks the chain, validity and the host name (verify-full).
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Config {
        reason: format!("TLS to PostgreSQL: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok((
        Connector::VerifyFull(MakeRustlsConnect::new(config)),
        SslMode::Require,
    ))
}

/// The largest CA file read (a bundle of a few certificates is a few kilobytes).
const MAX_CA_FILE_LEN: u64 = 1024 * 1024;

/// The bytes of the regular file at `path`, at most [`MAX_CA_FILE_LEN`] (a FIFO or
/// `/dev/zero` is refused unread).
fn read_bounded(path: &std::path::Path) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_CA_FILE_LEN {
        return Err(format!("larger than {MAX_CA_FILE_LEN} bytes"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CA_FILE_LEN {
        return Err(format!("larger than {MAX_CA_FILE_LEN} bytes"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_full_and_its_ca_are_taken_out_of_the_url() {
        let s = split("postgres://u@db:5432/c?sslmode=verify-full&sslrootcert=/etc/ca.pem&x=1")
            .expect("valid");
        assert_eq!(s.url, "postgres://u@db:5432/c?x=1");
        assert_eq!(s.verify_full, Some(PathBuf::from("/etc/ca.pem")));
        let s = split("host=db sslmode=verify-full sslrootcert=/ca.pem user=u").expect("valid");
        assert_eq!(s.url, "host=db user=u");
        assert!(s.verify_full.is_some());
        let s = split("postgres://u@db/c").expect("valid");
        assert_eq!((s.url.as_str(), s.verify_full), ("postgres://u@db/c", None));
        let s = split("postgres://u@db/c?sslmode=disable").expect("valid");
        assert_eq!((s.url.as_str(), s.verify_full), ("postgres://u@db/c", None));
    }

    #[test]
    fn weaker_or_incomplete_tls_settings_are_refused_with_the_fix() {
        for (url, says) in [
            ("postgres://u@db/c?sslmode=require", "verify-full"),
            ("postgres://u@db/c?sslmode=verify-ca", "verify-full"),
            ("postgres://u@db/c?sslmode=verify-full", "sslrootcert"),
            (
                "postgres://u@db/c?sslrootcert=/ca.pem",
                "sslmode=verify-full",
            ),
            ("postgres://u@db/c?sslmode=allow", "verify-full"),
        ] {
            let err = split(url).err().expect(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn a_missing_empty_or_endless_ca_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, b"").expect("write");
        let device = std::path::PathBuf::from("/dev/zero");
        for (file, says) in [
            (missing, "No such file"),
            (empty, "no certificate"),
            (device, "not a regular file"),
        ] {
            let s = split(&format!(
                "postgres://u@db/c?sslmode=verify-full&sslrootcert={}",
                file.display()
            ))
            .expect("valid");
            let err = connector(&s).err().expect("refused").to_string();
            assert!(err.contains(says) && err.contains("fix"), "{err}");
        }
    }
}
