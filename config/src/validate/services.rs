//! `[api]`, `[storage]` and `[monitoring]`, and the rule that no two listeners share a socket.

use std::net::SocketAddr;
use std::path::Path;

use super::files::{Located, located, path_or_env, public_file, secret_file};
use super::gateway::{listen_address, tls_identity};
use super::{Ctx, Source};
use crate::env;
use crate::error::Rule;
use crate::model::{Api, Gateway, Monitoring, Relaying, Storage};
use crate::raw::{RawConfig, RawStorage, S};
use crate::values::PostgresUrl;

/// Default HTTP API listener: loopback only.
pub(crate) const DEFAULT_API_LISTEN: &str = "127.0.0.1:8080";
/// Default metrics listener: loopback only.
pub(crate) const DEFAULT_MONITORING_LISTEN: &str = "127.0.0.1:9464";
/// Default SQLite file, beside the configuration file.
pub(crate) const DEFAULT_SQLITE_FILE: &str = "causeway.sqlite";

pub(crate) fn services(
    ctx: &mut Ctx<'_>,
    raw: &RawConfig,
    gateway: Option<&Gateway>,
) -> Option<(Api, Storage, Monitoring)> {
    let api = api(ctx, raw);
    let storage = storage(ctx, raw.storage.as_ref());
    let monitoring = monitoring(ctx, raw);

    // Two listeners on one socket: the second would fail to bind at start-up, or (with an
    // unspecified address) one service would answer on the other's port.
    let mut listeners: Vec<(&str, SocketAddr, Source)> = Vec::new();
    if let Some(g) = gateway {
        listeners.push((
            "gateway.peer_listen",
            g.peer_listen,
            Source::File(raw.gateway.get_ref().peer_listen.span()),
        ));
    }
    if let Some((a, source)) = &api {
        listeners.push(("api.listen", a.listen, source.clone()));
    }
    if let Some((m, source)) = &monitoring {
        listeners.push(("monitoring.listen", m.listen, source.clone()));
    }
    for (i, (key, addr, source)) in listeners.iter().enumerate() {
        for (other_key, other, _) in &listeners[..i] {
            let same_ip = addr.ip() == other.ip()
                || addr.ip().is_unspecified()
                || other.ip().is_unspecified();
            if addr.port() == other.port() && same_ip {
                ctx.report(
                    *key,
                    source,
                    Rule::DuplicateListenAddress,
                    format!("{addr} collides with {other_key} = {other}"),
                    format!("give {key} its own port"),
                );
            }
        }
    }
    Some((api?.0, storage?, monitoring?.0))
}

fn listen_or_default(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: Option<&S<String>>,
    default: &str,
) -> Option<(SocketAddr, Source)> {
    match raw {
        Some(v) => listen_address(ctx, key, v).map(|a| (a, Source::File(v.span()))),
        None => Some((
            default
                .parse()
                .expect("the default listen addresses are valid"),
            Source::Default,
        )),
    }
}

fn api(ctx: &mut Ctx<'_>, raw: &RawConfig) -> Option<(Api, Source)> {
    let Some(api) = &raw.api else {
        if ctx.env.var(env::API_TLS_KEY_FILE).is_some() {
            ctx.report(
                "api.tls",
                &Source::Env(env::API_TLS_KEY_FILE),
                Rule::EnvOverride,
                format!(
                    "{} is set but the file has no [api.tls] table with the certificate",
                    env::API_TLS_KEY_FILE
                ),
                "add [api.tls] with cert_file, or unset the variable",
            );
            return None;
        }
        let (listen, source) = listen_or_default(ctx, "api.listen", None, DEFAULT_API_LISTEN)?;
        return Some((
            Api {
                listen,
                tls: None,
                client_ca_file: None,
            },
            source,
        ));
    };
    let api = api.get_ref();
    let listen = listen_or_default(ctx, "api.listen", api.listen.as_ref(), DEFAULT_API_LISTEN);
    let tls = match &api.tls {
        Some(t) => Some(tls_identity(
            ctx,
            "api.tls",
            t,
            env::API_TLS_KEY_FILE,
            "tls/api.key",
        )?),
        None if ctx.env.var(env::API_TLS_KEY_FILE).is_some() => {
            ctx.report(
                "api.tls",
                &Source::Env(env::API_TLS_KEY_FILE),
                Rule::EnvOverride,
                format!(
                    "{} is set but [api] has no tls table with the certificate",
                    env::API_TLS_KEY_FILE
                ),
                "add api.tls = { cert_file = \"tls/api.crt\" }, or unset the variable",
            );
            return None;
        }
        None => None,
    };
    let client_ca_file = match &api.client_ca_file {
        None => Some(None),
        Some(raw) if tls.is_none() => {
            ctx.report(
                "api.client_ca_file",
                &Source::File(raw.span()),
                Rule::InvalidValue,
                "client certificates need TLS, but [api] has no tls table".to_owned(),
                "add [api.tls] with the API's cert_file and key_file, or remove client_ca_file",
            );
            None
        }
        Some(raw) => {
            let file = located(ctx, raw);
            public_file(ctx, "api.client_ca_file", &file).then_some(Some(file.path))
        }
    };
    let (listen, source) = listen?;
    Some((
        Api {
            listen,
            tls,
            client_ca_file: client_ca_file?,
        },
        source,
    ))
}

fn monitoring(ctx: &mut Ctx<'_>, raw: &RawConfig) -> Option<(Monitoring, Source)> {
    let listen = raw
        .monitoring
        .as_ref()
        .and_then(|m| m.get_ref().listen.as_ref());
    let (listen, source) =
        listen_or_default(ctx, "monitoring.listen", listen, DEFAULT_MONITORING_LISTEN)?;
    Some((Monitoring { listen }, source))
}

fn storage(ctx: &mut Ctx<'_>, raw: Option<&S<RawStorage>>) -> Option<Storage> {
    let table = raw.map_or(Source::Default, |r| Source::File(r.span()));
    let raw = raw.map(|r| r.get_ref());
    let sqlite = raw.and_then(|r| r.sqlite_path.as_ref());
    let file_url = raw.and_then(|r| r.postgres_url.as_ref());
    let password_file = raw.and_then(|r| r.postgres_password_file.as_ref());

    // Where the URL comes from, and whether it may hold a password (only from the environment).
    let url: Option<(String, Source)> = if ctx.env.var(env::POSTGRES_URL).is_some() {
        let value = ctx.env_value(env::POSTGRES_URL, "storage.postgres_url")?;
        Some((value, Source::Env(env::POSTGRES_URL)))
    } else {
        file_url.map(|u| (u.get_ref().clone(), Source::File(u.span())))
    };
    let password = if ctx.env.var(env::POSTGRES_PASSWORD_FILE).is_some() || password_file.is_some()
    {
        path_or_env(
            ctx,
            "storage.postgres_password_file",
            password_file,
            env::POSTGRES_PASSWORD_FILE,
            &table,
            "",
        )
    } else {
        None
    };

    let Some((url_text, url_source)) = url else {
        if let Some(p) = &password {
            ctx.report(
                "storage.postgres_password_file",
                &p.source,
                Rule::StorageConflict,
                "a PostgreSQL password file is configured but no postgres_url",
                format!(
                    "add storage.postgres_url, set {}, or remove the password file",
                    env::POSTGRES_URL
                ),
            );
            return None;
        }
        for (key, given) in [
            (
                "storage.postgres_dead_peer_ms",
                raw.and_then(|r| r.postgres_dead_peer_ms.as_ref()),
            ),
            (
                "storage.postgres_statement_timeout_ms",
                raw.and_then(|r| r.postgres_statement_timeout_ms.as_ref()),
            ),
        ] {
            if let Some(v) = given {
                ctx.report(
                    key,
                    &Source::File(v.span()),
                    Rule::StorageConflict,
                    "a PostgreSQL setting is configured but no postgres_url",
                    format!("add storage.postgres_url, or remove {key}"),
                );
                return None;
            }
        }
        let path = match sqlite {
            Some(p) => located(ctx, p).path,
            None => ctx.resolve(Path::new(DEFAULT_SQLITE_FILE)),
        };
        return Some(Storage::Sqlite { path });
    };

    if let Some(s) = sqlite {
        let (problem, fix) = match url_source.env_var() {
            Some(var) => (
                format!("{var} selects PostgreSQL, but storage.sqlite_path selects SQLite"),
                format!("remove storage.sqlite_path, or unset {var}"),
            ),
            None => (
                "both storage.sqlite_path and storage.postgres_url are set".to_owned(),
                "keep the one back-end this gateway uses".to_owned(),
            ),
        };
        ctx.report(
            "storage.sqlite_path",
            &Source::File(s.span()),
            Rule::StorageConflict,
            problem,
            fix,
        );
        return None;
    }
    let url = match PostgresUrl::parse(&url_text) {
        Ok(u) => u,
        Err(problem) => {
            ctx.report(
                "storage.postgres_url",
                &url_source,
                Rule::InvalidValue,
                format!("{problem}{}", url_source.note()),
                "write postgres://user@host:5432/database",
            );
            return None;
        }
    };
    if url.has_password() && url_source.env_var().is_none() {
        ctx.report(
            "storage.postgres_url",
            &url_source,
            Rule::SecretInFile,
            "the URL carries a password, which must not be written in the configuration file",
            format!(
                "remove the password here and put it in storage.postgres_password_file (chmod 600), or pass the whole URL in {}",
                env::POSTGRES_URL
            ),
        );
        return None;
    }
    let password_file = match password {
        Some(p) if url.has_password() => {
            ctx.report(
                "storage.postgres_password_file",
                &p.source,
                Rule::StorageConflict,
                format!(
                    "the PostgreSQL URL{} already carries a password",
                    url_source.note()
                ),
                "keep one of the two passwords",
            );
            return None;
        }
        Some(p) => Some(private(ctx, p)?),
        None => None,
    };
    let mut bounded =
        |key: &str, value: Option<&S<u64>>, min: u64, default: std::time::Duration, fix: &str| {
            match value {
                None => Some(default),
                Some(v) => {
                    within(ctx, key, v, min..=3_600_000, fix).map(std::time::Duration::from_millis)
                }
            }
        };
    let dead_peer = bounded(
        "storage.postgres_dead_peer_ms",
        raw.and_then(|r| r.postgres_dead_peer_ms.as_ref()),
        1_000,
        Storage::DEFAULT_DEAD_PEER,
        "set between a second and an hour, longer than a network hiccup (30000 is the default)",
    );
    let statement_timeout = bounded(
        "storage.postgres_statement_timeout_ms",
        raw.and_then(|r| r.postgres_statement_timeout_ms.as_ref()),
        100,
        Storage::DEFAULT_STATEMENT_TIMEOUT,
        "set between 100 ms and an hour, far above what a store call takes (30000 is the default)",
    );
    Some(Storage::Postgres {
        url,
        password_file,
        dead_peer: dead_peer?,
        statement_timeout: statement_timeout?,
    })
}

fn private(ctx: &mut Ctx<'_>, file: Located) -> Option<std::path::PathBuf> {
    secret_file(ctx, "storage.postgres_password_file", &file).then_some(file.path)
}

/// `value` when it lies in `range`; otherwise reported at `key` (with `fix`) and `None`.
fn within(
    ctx: &mut Ctx<'_>,
    key: &str,
    value: &S<u64>,
    range: std::ops::RangeInclusive<u64>,
    fix: &str,
) -> Option<u64> {
    let v = *value.get_ref();
    if range.contains(&v) {
        return Some(v);
    }
    ctx.report(
        key,
        &Source::File(value.span()),
        Rule::InvalidValue,
        format!("{v} is outside {}..={}", range.start(), range.end()),
        fix,
    );
    None
}

/// `[relayer]`: batch size, delivery grace, poll interval and lease, each within its bounds.
pub(super) fn relaying(ctx: &mut Ctx<'_>, raw: &RawConfig) -> Option<Relaying> {
    let mut out = Relaying::default();
    let Some(r) = raw.relayer.as_ref() else {
        return Some(out);
    };
    let r = r.get_ref();
    let mut ok = true;
    let mut check =
        |key: &str, value: Option<&S<u64>>, min: u64, max: u64, fix: &str| -> Option<u64> {
            let checked = within(ctx, &format!("relayer.{key}"), value?, min..=max, fix);
            ok &= checked.is_some();
            checked
        };
    if let Some(v) = check(
        "batch_size",
        r.batch_size.as_ref(),
        1,
        Relaying::MAX_BATCH_SIZE as u64,
        "set a batch size between 1 and 512 (128 is the default)",
    ) {
        out.batch_size = v as usize;
    }
    if let Some(v) = check(
        "delivery_grace_ms",
        r.delivery_grace_ms.as_ref(),
        0,
        3_600_000,
        "set a grace of at most an hour, e.g. 10000",
    ) {
        out.delivery_grace = std::time::Duration::from_millis(v);
    }
    if let Some(v) = check(
        "poll_interval_ms",
        r.poll_interval_ms.as_ref(),
        10,
        60_000,
        "set a poll interval between 10 ms and a minute, e.g. 500",
    ) {
        out.poll_interval = std::time::Duration::from_millis(v);
    }
    if let Some(v) = check(
        "lease_ms",
        r.lease_ms.as_ref(),
        1_000,
        3_600_000,
        "set a lease between a second and an hour, longer than a submission takes (120000 is the default)",
    ) {
        out.lease = std::time::Duration::from_millis(v);
    }
    if let Some(v) = check(
        "send_replace_after_ms",
        r.send_replace_after_ms.as_ref(),
        1_000,
        86_400_000,
        "set a wait between a second and a day, longer than the origin takes to mine a \
         transaction (180000 is the default)",
    ) {
        out.send_replace_after = std::time::Duration::from_millis(v);
    }
    ok.then_some(out)
}
