//! Arguments and stored counters as the chaincodes read them, in one place: argument counts,
//! strict decimal ASCII (digits only: no sign, space or prefix), hex with an optional `0x`.

use crate::{ChaincodeError, Stub};

/// Refuses a call of `function` with other than `count` arguments.
pub(crate) fn expect_args(
    function: &str,
    args: &[Vec<u8>],
    count: usize,
) -> Result<(), ChaincodeError> {
    if args.len() == count {
        Ok(())
    } else {
        Err(ChaincodeError(format!(
            "{function} takes {count} arguments, got {}",
            args.len()
        )))
    }
}

/// `arg` as strict decimal ASCII, if it is one and fits `T`.
pub(crate) fn decimal<T: std::str::FromStr>(arg: &[u8]) -> Option<T> {
    std::str::from_utf8(arg)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
}

/// A strict decimal argument; the error names it `what`.
pub(crate) fn parse_decimal<T: std::str::FromStr>(
    what: &str,
    arg: &[u8],
) -> Result<T, ChaincodeError> {
    decimal(arg).ok_or_else(|| {
        ChaincodeError(format!(
            "{what} {:?} is not a decimal number",
            String::from_utf8_lossy(arg)
        ))
    })
}

/// The hex digits of `arg`, without its optional `0x` prefix (empty when not UTF-8).
pub(crate) fn hex_digits(arg: &[u8]) -> &str {
    let text = std::str::from_utf8(arg).unwrap_or("");
    text.strip_prefix("0x").unwrap_or(text)
}

/// The counter stored under `key` as decimal ASCII (absent means 0); the error names it `what`.
pub(crate) fn stored_count(
    stub: &mut dyn Stub,
    key: &str,
    what: &str,
) -> Result<u64, ChaincodeError> {
    match stub.get_state(key) {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ChaincodeError(format!("stored {what} is not a decimal number"))),
    }
}
