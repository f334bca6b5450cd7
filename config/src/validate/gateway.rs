//! `[gateway]`: this gateway's organisation, its validator and privacy keys, its peer listener
//! and TLS identity. The keys are read once to check they match the organisation's entry.

use std::net::SocketAddr;

use super::files::{Located, located, path_or_env, public_file, secret_file};
use super::members::Members;
use super::{Ctx, Source};
use crate::env;
use crate::error::Rule;
use crate::keyfile::OwnKeyCheck;
use crate::model::{Gateway, TlsIdentity};
use crate::raw::{RawGateway, RawTlsIdentity, S};

pub(crate) fn gateway(
    ctx: &mut Ctx<'_>,
    raw: &S<RawGateway>,
    members: &Members,
) -> Option<Gateway> {
    let table = Source::File(raw.span());
    let raw = raw.get_ref();
    let before = ctx.error_count();

    let organisation = raw.organisation.get_ref();
    if !members.is_declared(organisation) {
        ctx.report(
            "gateway.organisation",
            &Source::File(raw.organisation.span()),
            Rule::UnknownOrganisation,
            format!("`{organisation}` is not the name of any [[members]] entry"),
            format!(
                "set gateway.organisation to this gateway's own member (known members: {}), or add its [[members]] entry",
                members.names()
            ),
        );
    }

    let validator = key_file(
        ctx,
        "gateway.validator_key_file",
        raw.validator_key_file.as_ref(),
        env::VALIDATOR_KEY_FILE,
        &table,
        "keys/validator.key",
    );
    let privacy = key_file(
        ctx,
        "gateway.privacy_key_file",
        raw.privacy_key_file.as_ref(),
        env::PRIVACY_KEY_FILE,
        &table,
        "keys/privacy.key",
    );
    let instance = raw.instance.as_ref().and_then(|i| instance_name(ctx, i));
    let peer_listen = listen_address(ctx, "gateway.peer_listen", &raw.peer_listen);
    let tls = tls_identity(
        ctx,
        "gateway.tls",
        &raw.tls,
        env::TLS_KEY_FILE,
        "tls/gateway.key",
    );

    // The keys must be the ones the consortium knows this organisation by: a gateway signing
    // with another key would see its signatures silently ignored, and one decrypting with
    // another key would never open a payload.
    if let Some(member) = members.valid(organisation) {
        let member_index = members.index(organisation).unwrap_or_default();
        if let Some(v) = &validator {
            let check = OwnKeyCheck {
                file: ctx.file,
                key: "gateway.validator_key_file",
                path: &v.path,
            };
            let member_key = format!("members[{member_index}].validator_address");
            if let Err(e) = check.validator(&member.validator_address, &member_key) {
                ctx.push(e);
            }
        }
        if let Some(p) = &privacy {
            let check = OwnKeyCheck {
                file: ctx.file,
                key: "gateway.privacy_key_file",
                path: &p.path,
            };
            let member_key = format!("members[{member_index}].privacy_public_key");
            if let Err(e) = check.privacy(&member.privacy_public_key, &member_key) {
                ctx.push(e);
            }
        }
    }

    if ctx.error_count() != before {
        return None;
    }
    Some(Gateway {
        organisation: organisation.clone(),
        instance,
        validator_key_file: validator?.path,
        privacy_key_file: privacy?.path,
        peer_listen: peer_listen?,
        tls: tls?,
    })
}

/// `gateway.instance`: 1 to 64 letters, digits, `.`, `_` or `-` (it becomes part of the name
/// leases are held under, and of log lines).
fn instance_name(ctx: &mut Ctx<'_>, raw: &S<String>) -> Option<String> {
    let name = raw.get_ref();
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        return Some(name.clone());
    }
    ctx.report(
        "gateway.instance",
        &Source::File(raw.span()),
        Rule::InvalidValue,
        format!("{name:?} is not an instance name"),
        "name this replica with 1 to 64 letters, digits, `.`, `_` or `-`, different from the \
         organisation's other replicas (e.g. \"a\", \"b\")",
    );
    None
}

/// A secret key file: from the environment or the file, present, owner-only.
fn key_file(
    ctx: &mut Ctx<'_>,
    key: &str,
    from_file: Option<&S<std::path::PathBuf>>,
    var: &'static str,
    table: &Source,
    example: &str,
) -> Option<Located> {
    let file = path_or_env(ctx, key, from_file, var, table, example)?;
    secret_file(ctx, key, &file).then_some(file)
}

/// A TLS identity table: certificate present, key from the environment or the file, private.
pub(crate) fn tls_identity(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &S<RawTlsIdentity>,
    key_var: &'static str,
    example: &str,
) -> Option<TlsIdentity> {
    let table = Source::File(raw.span());
    let raw = raw.get_ref();
    let cert = located(ctx, &raw.cert_file);
    let cert_ok = public_file(ctx, &format!("{key}.cert_file"), &cert);
    let key_file = key_file(
        ctx,
        &format!("{key}.key_file"),
        raw.key_file.as_ref(),
        key_var,
        &table,
        example,
    );
    match (cert_ok, key_file) {
        (true, Some(k)) => Some(TlsIdentity {
            cert_file: cert.path,
            key_file: k.path,
        }),
        _ => None,
    }
}

/// An `ip:port` listen address.
pub(crate) fn listen_address(ctx: &mut Ctx<'_>, key: &str, raw: &S<String>) -> Option<SocketAddr> {
    match raw.get_ref().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.report(
                key,
                &Source::File(raw.span()),
                Rule::InvalidValue,
                format!("`{}` is not an ip:port socket address", raw.get_ref()),
                "write an IP address and port, such as \"0.0.0.0:7443\" or \"[::]:7443\" (host names are not resolved here)",
            );
            None
        }
    }
}
