//! `causeway token`: the HTTP API's bearer tokens, in the gateway's store (works while the
//! gateway runs: every change is one short transaction; on PostgreSQL the replicas of one
//! gateway share them). A new
//! token is printed once and kept only as its SHA-256; every create and revoke is audited.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use causeway_config::Storage;
use causeway_gateway::api::auth::new_secret;
use causeway_relayer::store::{
    ApiStore, NewToken, PgOptions, PgStore, Scope, SqliteStore, TokenId, TokenRecord, UnixMillis,
};

use super::Outcome;
use super::status::load_config;

/// `causeway token …`
#[derive(clap::Subcommand, Debug)]
pub(crate) enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// The gateway's configuration file (names the store).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// A name for people (1 to 64 bytes), e.g. the application using it.
        #[arg(long)]
        name: String,
        /// What it may do: a comma-separated list of read, send, decrypt, admin.
        #[arg(long, value_name = "SCOPES")]
        scope: String,
        /// When it stops working, from now: a number and a unit (s, m, h, d), e.g. 30d.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// Bind the token to this client certificate (PEM, its first certificate) instead of a
        /// secret: a TLS client presenting it (issued by `[api] client_ca_file`) is this token.
        /// Nothing secret is printed.
        #[arg(long, value_name = "FILE")]
        client_cert: Option<PathBuf>,
    },
    /// List the tokens (never their secrets).
    List {
        /// The gateway's configuration file (names the store).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Revoke a token by its number (from `causeway token list`): it stops working at once.
    Revoke {
        /// The gateway's configuration file (names the store).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The token's number.
        id: u64,
    },
}

/// The audit trail's name for this command's caller.
fn actor() -> String {
    match std::env::var("USER") {
        Ok(user) if !user.is_empty() => format!("cli:{user}"),
        _ => "cli".to_owned(),
    }
}

fn open(config: &Path) -> Result<Box<dyn ApiStore>> {
    let config = load_config(config)?;
    match config.storage() {
        Storage::Sqlite { path } => {
            // Tokens may be made before the gateway's first run: the store is created as `run`
            // would create it, in its configured folder.
            if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder).with_context(|| {
                    format!("while creating the store's folder {}", folder.display())
                })?;
            }
            let store = SqliteStore::open(path)
                .with_context(|| format!("while opening the store {}", path.display()))?;
            Ok(Box::new(store))
        }
        // Replicas of one gateway share one PostgreSQL store, and so its tokens: a token made
        // here serves every replica's API.
        Storage::Postgres {
            url,
            password_file,
            dead_peer,
            statement_timeout,
        } => {
            let password =
                causeway_gateway::node::read_postgres_password(password_file.as_deref())?;
            let options = PgOptions {
                dead_peer: *dead_peer,
                statement_timeout: *statement_timeout,
                ..PgOptions::default()
            };
            let store = PgStore::open_with(
                url.expose_secret(),
                password.as_ref().map(|p| p.as_slice()),
                options,
            )
            .context(
                "while opening the PostgreSQL store ([storage] postgres_url; fix the URL, the \
                 password or the database's permissions)",
            )?;
            Ok(Box::new(store))
        }
        _ => bail!("`causeway token`: this [storage] kind is not supported by this build"),
    }
}

/// Parses `30d`, `12h`, `15m`, `90s`.
fn parse_duration(text: &str) -> Result<Duration> {
    let fix = "write a number and a unit: s, m, h or d (e.g. 30d)";
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .with_context(|| format!("--expires-in {text:?} has no unit ({fix})"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .with_context(|| format!("--expires-in {text:?} does not start with a number ({fix})"))?;
    let seconds = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => bail!("--expires-in {text:?}: unknown unit {unit:?} ({fix})"),
    };
    match seconds {
        Some(s) if s > 0 && s <= 100 * 365 * 86_400 => Ok(Duration::from_secs(s)),
        _ => bail!("--expires-in {text:?} must be more than 0 and at most 100 years"),
    }
}

fn parse_scopes(text: &str) -> Result<Vec<Scope>> {
    let scopes = text
        .split(',')
        .map(|s| {
            Scope::from_name(s.trim()).with_context(|| {
                format!("--scope: {s:?} is not a scope (fix: use read, send, decrypt or admin)")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if scopes.is_empty() {
        bail!("--scope names no scope (fix: e.g. --scope read)");
    }
    Ok(scopes)
}

fn describe(t: &TokenRecord, now: UnixMillis) -> String {
    let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
    let state = match (t.revoked_at, t.expires_at) {
        (Some(at), _) => format!("revoked at {} ms", at.0),
        (None, Some(e)) if now >= e => format!("expired at {} ms", e.0),
        (None, Some(e)) => format!("live, expires at {} ms", e.0),
        (None, None) => "live, never expires".to_owned(),
    };
    format!(
        "{:>4}  {:<24} {:<24} created {} ms, {state}",
        t.id,
        t.name,
        scopes.join(","),
        t.created_at.0
    )
}

pub(crate) fn run(cmd: &TokenCommand) -> Result<Outcome> {
    let now = UnixMillis::now();
    match cmd {
        TokenCommand::Create {
            config,
            name,
            scope,
            expires_in,
            client_cert,
        } => {
            let scopes = parse_scopes(scope)?;
            let expires_at = expires_in
                .as_deref()
                .map(parse_duration)
                .transpose()?
                .map(|d| now.saturating_add(d));
            let store = open(config)?;
            if let Some(file) = client_cert {
                let certificate =
                    causeway_gateway::api::client_certificates::read_certificates(file)?
                        .into_iter()
                        .next()
                        .context("the certificate file holds no certificate")?;
                let hash =
                    causeway_gateway::api::auth::client_certificate_hash(certificate.as_ref());
                let id = store
                    .create_token(&NewToken {
                        name,
                        hash,
                        scopes: &scopes,
                        expires_at,
                        actor: &actor(),
                        now,
                    })
                    .context("while recording the token")?;
                println!(
                    "token {id} ({name}) created for the client certificate {} (fingerprint \
                     {}); `causeway token revoke --config {} {id}` ends it",
                    file.display(),
                    hex::encode(hash),
                    config.display()
                );
                return Ok(Outcome::Success);
            }
            let secret = new_secret();
            let id = store
                .create_token(&NewToken {
                    name,
                    hash: secret.hash,
                    scopes: &scopes,
                    expires_at,
                    actor: &actor(),
                    now,
                })
                .context("while recording the token")?;
            eprintln!(
                "token {id} ({name}) created; it is shown once, below: keep it secret \
                 (`causeway token revoke --config {} {id}` ends it)",
                config.display()
            );
            println!("{}", secret.token.as_str());
        }
        TokenCommand::List { config } => {
            let store = open(config)?;
            let tokens = store.tokens().context("while listing the tokens")?;
            if tokens.is_empty() {
                println!("no tokens (`causeway token create` makes one)");
            }
            for t in &tokens {
                println!("{}", describe(t, now));
            }
        }
        TokenCommand::Revoke { config, id } => {
            let store = open(config)?;
            store
                .revoke_token(TokenId(*id), &actor(), now)
                .with_context(|| format!("while revoking token {id}"))?;
            println!("token {id} revoked");
        }
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_and_scopes_parse_strictly() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        for bad in [
            "",
            "30",
            "d",
            "0d",
            "30w",
            "-1d",
            "99999999999999999999d",
            "36501d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_scopes("read,admin").unwrap(),
            vec![Scope::Read, Scope::Admin]
        );
        assert!(parse_scopes("read,root").is_err());
        assert!(parse_scopes("").is_err());
    }
}
