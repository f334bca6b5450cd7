//! `causeway verify --disclosure MESSAGE`: checks offline that the fields a private message
//! discloses prove against the commitment it carries. The commitment is recomputed from the
//! message's own origin, destination, nonce and sender and the body's inputs, and each field's
//! proof must lead to the disclosure root in a tree of exactly the committed size; what the
//! chain holds is what is checked (the file is the message's canonical encoding).

use std::path::Path;

use anyhow::{Context, Result};
use causeway_gateway::private::body;
use causeway_proofs::Message;

use super::Outcome;
use super::input::read_text;

/// The largest message file read: a 64 KiB body in hex, with its header.
const MAX_FILE: u64 = 2 * (causeway_proofs::message::MAX_BODY_LEN as u64 + 1024);

/// Runs the check on `file`; prints the disclosed fields (text, or JSON with `json`).
pub(crate) fn run(file: &Path, json: bool) -> Result<Outcome> {
    let text = read_text(file, MAX_FILE)?;
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let bytes = hex::decode(digits).with_context(|| {
        format!(
            "{} is not a message in hex (fix: write the message's canonical encoding, 0x and hex \
             digits, as the Outbox's Dispatch event carries it)",
            file.display()
        )
    })?;
    let message = Message::decode(&bytes)
        .with_context(|| format!("{} is not a canonical Causeway message", file.display()))?;
    let verdict = body::decode(&message)
        .map_err(|e| e.to_string())
        .and_then(|private| {
            let disclosure = body::disclosure_of(&private)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "the message discloses no field".to_owned())?;
            disclosure
                .verify(&private.expected)
                .map_err(|e| format!("the disclosure does not verify: {e}"))
                .map(|fields| (private, fields))
        });
    let id = message.id();
    match verdict {
        Ok((private, fields)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "message_id": id.to_hex(),
                        "valid": true,
                        "commitment": private.expected.commitment.to_hex(),
                        "fields": fields,
                        "recipients": private.envelope.recipients.iter().map(|k| hex::encode(k.0)).collect::<Vec<_>>(),
                    })
                );
            } else {
                println!(
                    "message {id}: disclosure VALID against commitment {}",
                    private.expected.commitment
                );
                for (name, value) in &fields {
                    println!("  {name} = {value}");
                }
                println!(
                    "  sealed for {} key id(s): {}",
                    private.envelope.recipients.len(),
                    private
                        .envelope
                        .recipients
                        .iter()
                        .map(|k| hex::encode(k.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(Outcome::Success)
        }
        Err(reason) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "message_id": id.to_hex(), "valid": false, "reason": reason })
                );
            } else {
                println!("message {id}: disclosure INVALID: {reason}");
            }
            Ok(Outcome::Rejected)
        }
    }
}
