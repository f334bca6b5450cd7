//! Small validated value types: endpoints, privacy public keys, the PostgreSQL URL (a secret),
//! and the shape of names.

use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroize;

/// The URL of something this gateway talks to (a chain node, another member's gateway).
/// Parsed at load time: scheme, host and optional port are known to be well formed.
///
/// `Display` and `Debug` print only `scheme://host:port` (plus `/…` when there is more), so a
/// credential in the user part, path or query (an RPC provider's API key) never reaches a log.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    url: String,
    scheme: String,
    host: String,
    port: Option<u16>,
    has_userinfo: bool,
    has_more: bool,
}

impl Endpoint {
    /// Parses `text` as `scheme://[user@]host[:port][/path][?query]`.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let parts = UrlParts::parse(text)?;
        if parts.host.is_empty() {
            return Err(format!("`{}` has no host", redact_all(text)));
        }
        Ok(Endpoint {
            url: text.to_owned(),
            scheme: parts.scheme.to_ascii_lowercase(),
            host: parts.host.to_owned(),
            port: parts.port,
            has_userinfo: parts.userinfo.is_some(),
            has_more: !parts.rest.is_empty(),
        })
    }

    /// The full URL, as configured. It may carry credentials: never log it.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The scheme, in lower case (`https`, `wss`, `grpcs`, …).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host (a DNS name, an IPv4 address, or a bracketed IPv6 address).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when the URL names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether the URL carries a `user[:password]@` part.
    pub fn has_userinfo(&self) -> bool {
        self.has_userinfo
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if self.has_userinfo {
            f.write_str("***@")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if self.has_more {
            f.write_str("/…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// A member's X25519 public key for private payloads: 32 bytes, written in the configuration
/// as standard base64 (44 characters) or `0x`-prefixed hex. Keys of small order are refused at
/// load time (they would make every shared secret public).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrivacyPublicKey([u8; 32]);

impl PrivacyPublicKey {
    /// The key's 32 bytes (RFC 7748 u-coordinate, little-endian).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wraps 32 bytes without checks (for comparisons; loaded keys are always checked).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PrivacyPublicKey(bytes)
    }

    /// Whether the point lies in the small subgroup (or is zero): multiplied by any clamped
    /// scalar, which is a multiple of the cofactor 8, it gives the all-zero output that
    /// RFC 7748 §6.1 tells implementations to reject.
    pub fn is_low_order(&self) -> bool {
        // Any clamped scalar works; this one is arbitrary and public.
        x25519_dalek::x25519([0x5a; 32], self.0) == [0u8; 32]
    }
}

impl FromStr for PrivacyPublicKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        decode_32(s).map(PrivacyPublicKey).map_err(|reason| {
            format!("not a 32-byte X25519 public key ({reason}); expected standard base64 or 0x-prefixed hex")
        })
    }
}

impl fmt::Display for PrivacyPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE64.encode(self.0))
    }
}

impl fmt::Debug for PrivacyPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivacyPublicKey({self})")
    }
}

/// Decodes 32 bytes written as `0x`-hex, bare 64-digit hex, or standard base64.
pub(crate) fn decode_32(s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    // Standard base64 of 32 bytes is 44 characters ending in one `=`, and one key in 4,096
    // begins with "0x" there too: such a text is base64, never hex (a CI run refused a
    // generated privacy key as "42 hex digits").
    let base64_of_32 = s.len() == 44 && s.ends_with('=') && !s.ends_with("==");
    let hex_digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .filter(|_| !base64_of_32);
    let is_bare_hex = s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(digits) = hex_digits.or(is_bare_hex.then_some(s)) {
        if digits.len() != 64 {
            return Err(format!("{} hex digits, expected 64", digits.len()));
        }
        // The error names no character: this also decodes secret key files.
        hex::decode_to_slice(digits, &mut out).map_err(|_| "not valid hex".to_owned())?;
        return Ok(out);
    }
    let mut bytes = BASE64
        .decode(s)
        .map_err(|_| "neither 0x-hex nor standard base64".to_owned())?;
    let result = if bytes.len() == 32 {
        out.copy_from_slice(&bytes);
        Ok(out)
    } else {
        Err(format!("{} bytes, expected 32", bytes.len()))
    };
    bytes.zeroize();
    result
}

/// The PostgreSQL connection URL. It may hold a password (when it comes from
/// `CAUSEWAY_POSTGRES_URL`), so it is a secret: `Display` and `Debug` replace the password
/// with `***`, and the memory is wiped on drop. [`PostgresUrl::expose_secret`] gives the real URL
/// to the database driver.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    pub fn parse(text: &str) -> Result<PostgresUrl, String> {
        let parts = UrlParts::parse(text).map_err(|e| e.replace(text, &redact_all(text)))?;
        let scheme = parts.scheme.to_ascii_lowercase();
        if scheme != "postgres" && scheme != "postgresql" {
            return Err(format!(
                "scheme `{}` is not `postgres` or `postgresql`",
                parts.scheme
            ));
        }
        Ok(PostgresUrl(text.to_owned()))
    }

    /// The URL with its password, for the database driver only.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the URL carries a password (in the user part or as a `password=` parameter).
    pub fn has_password(&self) -> bool {
        match UrlParts::parse(&self.0) {
            Ok(parts) => {
                parts.userinfo.is_some_and(|u| u.contains(':'))
                    || query_params(parts.rest).any(|(k, _)| k.eq_ignore_ascii_case("password"))
            }
            Err(_) => true,
        }
    }
}

impl Drop for PostgresUrl {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(parts) = UrlParts::parse(&self.0) else {
            return f.write_str("postgres://***");
        };
        write!(f, "{}://", parts.scheme)?;
        if let Some(user) = parts.userinfo {
            match user.split_once(':') {
                Some((name, _)) => write!(f, "{name}:***@")?,
                None => write!(f, "{user}@")?,
            }
        }
        f.write_str(parts.host)?;
        if let Some(port) = parts.port {
            write!(f, ":{port}")?;
        }
        let path_end = parts.rest.find(['?', '#']).unwrap_or(parts.rest.len());
        f.write_str(&parts.rest[..path_end])?;
        for (i, (k, v)) in query_params(parts.rest).enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            if k.eq_ignore_ascii_case("password") {
                write!(f, "{k}=***")?;
            } else {
                match v {
                    Some(v) => write!(f, "{k}={v}")?,
                    None => f.write_str(k)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

/// The `key[=value]` pairs of the query string in `rest` (the part after the authority).
fn query_params(rest: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (p, None),
        })
}

/// `scheme://***` for a text that failed to parse and may hold anything.
pub(crate) fn redact_all(text: &str) -> String {
    match text.split_once("://") {
        Some((scheme, _)) if scheme.len() < 20 => format!("{scheme}://***"),
        _ => "***".to_owned(),
    }
}

/// The pieces of `scheme://[userinfo@]host[:port]rest`.
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    /// Path, query and fragment, starting with `/`, `?` or `#` (or empty).
    rest: &'a str,
}

impl<'a> UrlParts<'a> {
    fn parse(text: &'a str) -> Result<UrlParts<'a>, String> {
        if text.is_empty() {
            return Err("the URL is empty".to_owned());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{}` contains whitespace or control characters",
                redact_all(text)
            ));
        }
        let Some((scheme, after)) = text.split_once("://") else {
            return Err(format!(
                "`{}` is not a URL of the form scheme://host:port",
                redact_all(text)
            ));
        };
        let mut chars = scheme.chars();
        let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(format!("`{scheme}` is not a URL scheme"));
        }
        let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(authority_end);
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((user, hp)) => (Some(user), hp),
            None => (None, authority),
        };
        let (host, port_text) = if let Some(v6) = host_port.strip_prefix('[') {
            let Some((inner, after)) = v6.split_once(']') else {
                return Err("an IPv6 host lacks its closing `]`".to_owned());
            };
            if inner.is_empty()
                || !inner
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(format!("`[{inner}]` is not an IPv6 address"));
            }
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected `{p}` after the IPv6 host"))?,
                ),
            };
            (&host_port[..inner.len() + 2], port)
        } else {
            match host_port.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        if !host.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(format!("`{host}` is not a host name or IP address"));
        }
        let port = match port_text {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(format!("`{p}` is not a port number (1-65535)")),
                Ok(port) => Some(port),
            },
        };
        Ok(UrlParts {
            scheme,
            userinfo,
            host,
            port,
            rest,
        })
    }
}

/// Checks the shape of a member, chain or lane name: `[a-z][a-z0-9-]*`, at most 63 characters,
/// not ending in `-`. Names become parts of environment variable names and metric labels.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base64_key_that_begins_with_0x_is_base64_and_hex_keys_still_read() {
        // 32 bytes whose standard base64 begins with "0x".
        let bytes: [u8; 32] = BASE64
            .decode(format!("0x{}=", "A".repeat(41)))
            .expect("44 characters of standard base64")
            .try_into()
            .expect("32 bytes");
        let text = BASE64.encode(bytes);
        assert!(text.starts_with("0x"), "{text}");
        assert_eq!(decode_32(&text), Ok(bytes));
        assert_eq!(decode_32(&format!("0x{}", hex::encode(bytes))), Ok(bytes));
        assert_eq!(decode_32(&hex::encode(bytes)), Ok(bytes));
        assert_eq!(
            decode_32("0x1234"),
            Err("4 hex digits, expected 64".to_owned())
        );
    }

    #[test]
    fn endpoints_parse_and_display_without_credentials() {
        let e = Endpoint::parse("https://user:pw@rpc.example.com:8545/v3/SECRETKEY?x=1")
            .expect("valid");
        assert_eq!(e.scheme(), "https");
        assert_eq!(e.host(), "rpc.example.com");
        assert_eq!(e.port(), Some(8545));
        assert!(e.has_userinfo());
        assert_eq!(e.to_string(), "https://***@rpc.example.com:8545/…");
        let debug = format!("{e:?}");
        assert!(
            !debug.contains("pw") && !debug.contains("SECRETKEY"),
            "{debug}"
        );
        assert_eq!(
            e.as_str(),
            "https://user:pw@rpc.example.com:8545/v3/SECRETKEY?x=1"
        );

        let v6 = Endpoint::parse("ws://[::1]:8546").expect("valid");
        assert_eq!((v6.host(), v6.port()), ("[::1]", Some(8546)));
        assert_eq!(
            Endpoint::parse("http://10.0.0.1").expect("valid").port(),
            None
        );
    }

    #[test]
    fn malformed_endpoints_are_refused() {
        for bad in [
            "",
            "localhost:8545",
            "http://",
            "http://host:0",
            "http://host:99999",
            "http://host:port",
            "http://ho st",
            "1http://host",
            "http://[::1",
            "http://exa$mple.com",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn privacy_keys_accept_base64_and_hex_and_spot_low_order_points() {
        let b64 = "e06Qm75//kTEZaIgA31gjuNYl9Me+XLwf3SJLLD3PxM=";
        let k: PrivacyPublicKey = b64.parse().expect("valid base64");
        assert_eq!(k.to_string(), b64);
        let hex_form = format!("0x{}", hex::encode(k.as_bytes()));
        assert_eq!(hex_form.parse::<PrivacyPublicKey>().expect("valid hex"), k);
        assert!(!k.is_low_order());
        assert!("AAAA".parse::<PrivacyPublicKey>().is_err());
        assert!("0x1234".parse::<PrivacyPublicKey>().is_err());
        // RFC 7748 §6.1 / the curve25519 small-order list: 0, 1, and the order-8 point
        // e0eb7a7c…b800 (from libsodium's blacklist in crypto_scalarmult/curve25519/ref10).
        let zero = PrivacyPublicKey::from_bytes([0; 32]);
        let mut one = [0u8; 32];
        one[0] = 1;
        let order8 =
            hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .expect("hex");
        let order8: [u8; 32] = order8.try_into().expect("32 bytes");
        for weak in [
            zero,
            PrivacyPublicKey::from_bytes(one),
            PrivacyPublicKey::from_bytes(order8),
        ] {
            assert!(weak.is_low_order(), "{weak:?}");
        }
    }

    #[test]
    fn postgres_urls_redact_passwords_everywhere() {
        let url = PostgresUrl::parse(
            "postgres://causeway:hunter2@db.internal:5432/causeway?sslmode=verify-full",
        )
        .expect("valid");
        assert!(url.has_password());
        assert_eq!(
            url.to_string(),
            "postgres://causeway:***@db.internal:5432/causeway?sslmode=verify-full"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.expose_secret().contains("hunter2"));

        let q =
            PostgresUrl::parse("postgresql://db/causeway?user=c&password=hunter2").expect("valid");
        assert!(q.has_password());
        assert_eq!(
            q.to_string(),
            "postgresql://db/causeway?user=c&password=***"
        );

        let none = PostgresUrl::parse("postgres://causeway@db:5432/causeway").expect("valid");
        assert!(!none.has_password());
        assert!(PostgresUrl::parse("mysql://db/x").is_err());
    }

    #[test]
    fn names_are_lower_case_words_joined_by_dashes() {
        for good in ["org1", "evm-a", "a", "evm-a-to-evm-b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Org1",
            "1org",
            "evm_a",
            "evm-",
            "with space",
            &"a".repeat(64),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
