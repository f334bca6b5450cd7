//! The wire format between a Fabric destination and the `causeway_inbox` chaincode: the
//! **FabricDeliveryBatch** JSON that `deliverBatch` takes, the per-message results it returns
//! (and emits as its `causeway.Delivered` event), and the encoding of a refused batch's reason in
//! the chaincode's error message.
//!
//! ```json
//! {"checkpoint": {"version": 1, "origin": 1, "hash_algorithm": "sha256", "size": 2, "root": "0x…"},
//!  "signatures": ["0x<65-byte r ‖ s ‖ v>", …],
//!  "items": [{"message": "0x<encoded message>", "proof": {"index": 0, "size": 2, "path": ["0x…"]}}]}
//! ```
//!
//! Parsing is bounded before anything is allocated per item: at most [`MAX_BATCH_BYTES`] of
//! JSON, [`MAX_BATCH_ITEMS`] items, [`MAX_SIGNATURES`] signatures, and each hex string at most the
//! longest value it may carry. The parsed [`FabricDeliveryBatch`] is deliberately *raw*: a zero
//! root, a signature that is not 65 bytes or a message that does not decode survive parsing, so
//! that the inbox chaincode refuses them with the same named reasons, in the same order, as the
//! Solidity Inbox (`ZeroRoot`, `InvalidSignature(i)`, `MessageTooShort`, ...).
//! [`FabricDeliveryBatch::into_batch`] is the strict conversion. The parser itself is
//! `causeway_proofs::fabric::inbox_wire`'s (no I/O, fuzzed); this module adds what needs the
//! adapters' batch, result and revert types.

pub use causeway_proofs::fabric::inbox_wire::{
    INBOX_CHAINCODE, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_SIGNATURE_BYTES, MAX_SIGNATURES,
    MAX_WIRE_MESSAGE_BYTES, WireBatch, WireBytes, WireCheckpoint, WireItem, inbox_signing_domain,
};
use causeway_proofs::{Message, MessageId, Signature};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::chain::{DeliveryBatch, DeliveryItem, MessageOutcome, RevertReason};

/// The marker in front of the machine-readable reason in the inbox chaincode's error message.
pub const REVERT_MARKER: &str = "causeway-revert=";

/// The `deliverBatch` argument of the inbox chaincode: the parsed [`WireBatch`] (whose parser
/// lives in `causeway_proofs`, so that it is fuzzed without a chain client), with the
/// conversions to and from a [`DeliveryBatch`]. Its fields are the [`WireBatch`]'s (through
/// `Deref`); its JSON is the [`WireBatch`]'s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FabricDeliveryBatch(pub WireBatch);

impl std::ops::Deref for FabricDeliveryBatch {
    type Target = WireBatch;

    fn deref(&self) -> &WireBatch {
        &self.0
    }
}

impl std::ops::DerefMut for FabricDeliveryBatch {
    fn deref_mut(&mut self) -> &mut WireBatch {
        &mut self.0
    }
}

impl FabricDeliveryBatch {
    /// The wire form of a delivery batch.
    pub fn from_batch(batch: &DeliveryBatch) -> Self {
        FabricDeliveryBatch(WireBatch {
            checkpoint: batch.checkpoint.into(),
            signatures: batch
                .signatures
                .iter()
                .map(|s| WireBytes(s.as_bytes().to_vec()))
                .collect(),
            items: batch
                .items
                .iter()
                .map(|i| WireItem {
                    message: WireBytes(i.message.encode()),
                    proof: i.proof.clone(),
                })
                .collect(),
        })
    }

    /// The JSON bytes `deliverBatch` takes.
    pub fn to_json(&self) -> Vec<u8> {
        self.0.to_json()
    }

    /// Parses `deliverBatch`'s argument ([`WireBatch::parse`]: bounded before it is read); a
    /// refusal is an [`Error::Decode`] naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        match WireBatch::parse(bytes) {
            Ok(batch) => Ok(FabricDeliveryBatch(batch)),
            Err(causeway_proofs::Error::Decode { what, reason }) => {
                Err(Error::Decode { what, reason })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The strict batch: a valid checkpoint, 65-byte signatures and decodable messages.
    pub fn into_batch(self) -> Result<DeliveryBatch, Error> {
        let WireBatch {
            checkpoint,
            signatures,
            items,
        } = self.0;
        let checkpoint = checkpoint.to_checkpoint()?;
        let signatures = signatures
            .iter()
            .map(|s| Signature::from_slice(&s.0))
            .collect::<Result<Vec<_>, _>>()?;
        let items = items
            .into_iter()
            .map(|i| {
                Ok(DeliveryItem {
                    message: Message::decode(&i.message.0)?,
                    proof: i.proof,
                })
            })
            .collect::<Result<Vec<_>, causeway_proofs::Error>>()?;
        Ok(DeliveryBatch {
            checkpoint,
            signatures,
            items,
        })
    }
}

/// What the inbox did with one message: an entry of `deliverBatch`'s response payload and of its
/// `causeway.Delivered` event, `{"id": "0x…", "result": "delivered"}` or
/// `{"id": "0x…", "result": "failed", "reason": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryResult {
    /// The message id.
    pub id: MessageId,
    /// Delivered, or failed at the recipient (retryable).
    #[serde(flatten)]
    pub outcome: MessageOutcome,
}

/// Most results accepted in one response (one per item).
const MAX_RESULTS: usize = MAX_BATCH_ITEMS;

/// Encodes the results of one `deliverBatch`.
pub fn encode_results(results: &[DeliveryResult]) -> Vec<u8> {
    serde_json::to_vec(results).expect("plain data serialises")
}

/// Parses the results of one `deliverBatch` (its response payload or event payload).
pub fn parse_results(bytes: &[u8]) -> Result<Vec<DeliveryResult>, Error> {
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(Error::Decode {
            what: "inbox delivery results",
            reason: format!(
                "{} bytes exceed the maximum of {MAX_BATCH_BYTES}",
                bytes.len()
            ),
        });
    }
    let results: Vec<DeliveryResult> =
        serde_json::from_slice(bytes).map_err(|e| Error::Decode {
            what: "inbox delivery results",
            reason: e.to_string(),
        })?;
    if results.len() > MAX_RESULTS {
        return Err(Error::Decode {
            what: "inbox delivery results",
            reason: format!("{} results for at most {MAX_RESULTS} items", results.len()),
        });
    }
    Ok(results)
}

/// The inbox chaincode's error message for a refused batch: the Solidity error's name and
/// arguments for people (e.g. `AlreadyDelivered(0x…)`), then [`REVERT_MARKER`] and the reason's
/// JSON for [`decode_revert`].
pub fn encode_revert(reason: &RevertReason) -> String {
    let json = serde_json::to_string(reason).expect("plain data serialises");
    format!("{reason}; {REVERT_MARKER}{json}")
}

/// The reason encoded by [`encode_revert`] anywhere in `text` (e.g. inside the gateway's error
/// details, which wrap the chaincode's message), or `None`.
pub fn decode_revert(text: &str) -> Option<RevertReason> {
    let start = text.find(REVERT_MARKER)? + REVERT_MARKER.len();
    serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<RevertReason>()
        .next()?
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use causeway_proofs::{Address32, Domain, Hash32, Nonce};

    use super::*;

    fn batch(n: u64) -> DeliveryBatch {
        let messages: Vec<Message> = (0..n)
            .map(|i| {
                Message::new(
                    Nonce(i),
                    Domain(1),
                    Address32([1; 32]),
                    Domain(7),
                    Address32([2; 32]),
                    format!("body {i}").into_bytes(),
                )
                .unwrap()
            })
            .collect();
        DeliveryBatch::logged(
            Domain(1),
            messages,
            vec![Signature([0x11; 65]), Signature([0x22; 65])],
        )
    }

    #[test]
    fn round_trips_through_json() {
        let b = batch(5);
        let wire = FabricDeliveryBatch::from_batch(&b);
        let json = wire.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.starts_with(r#"{"checkpoint":{"version":1,"origin":1,"hash_algorithm":"sha256","size":5,"root":"0x"#), "{text}");
        assert!(text.contains(&format!(r#""signatures":["0x{}""#, "11".repeat(65))));
        let parsed = FabricDeliveryBatch::parse(&json).unwrap();
        assert_eq!(parsed, wire);
        assert_eq!(parsed.into_batch().unwrap(), b);
    }

    #[test]
    fn oversize_inputs_are_refused_before_parsing() {
        let mut big = b"{\"checkpoint\":".to_vec();
        big.resize(MAX_BATCH_BYTES + 1, b' ');
        let err = FabricDeliveryBatch::parse(&big).unwrap_err().to_string();
        assert!(err.contains("exceed the maximum of 1048576"), "{err}");

        let b = batch(1);
        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.items = vec![wire.items[0].clone(); MAX_BATCH_ITEMS + 1];
        let err = FabricDeliveryBatch::parse(&wire.to_json())
            .unwrap_err()
            .to_string();
        assert!(err.contains("513 items exceed the maximum of 512"), "{err}");

        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.signatures = vec![WireBytes(vec![1; 65]); MAX_SIGNATURES + 1];
        let err = FabricDeliveryBatch::parse(&wire.to_json())
            .unwrap_err()
            .to_string();
        assert!(err.contains("257 signatures"), "{err}");

        // A message hex string far over the longest message is refused by length alone.
        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.items[0].message = WireBytes(vec![1; MAX_WIRE_MESSAGE_BYTES + 1]);
        let err = FabricDeliveryBatch::parse(&wire.to_json())
            .unwrap_err()
            .to_string();
        assert!(err.contains("exceed the maximum"), "{err}");
    }

    #[test]
    fn malformed_inputs_name_what_is_wrong() {
        let b = batch(2);
        let good = String::from_utf8(FabricDeliveryBatch::from_batch(&b).to_json()).unwrap();
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "malformed JSON"),
            (good.replacen("\"items\"", "\"itemz\"", 1), "unknown field"),
            (
                good.replacen("\"signatures\":[\"0x", "\"signatures\":[\"", 1),
                "must start with 0x",
            ),
            (good.replacen("sha256", "md5", 1), "unknown variant"),
            (
                good.replacen("\"size\":2", "\"size\":-1", 1),
                "malformed JSON",
            ),
            (
                good.replacen("\"signatures\":[\"0x1", "\"signatures\":[\"0xz", 1),
                "Invalid character",
            ),
            (
                good.replacen(",\"items\"", ",\"extra\":1,\"items\"", 1),
                "unknown field",
            ),
            (good.clone() + "x", "trailing characters"),
        ];
        for (input, expected) in cases {
            let err = FabricDeliveryBatch::parse(input.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains("FabricDeliveryBatch"), "{err}");
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn raw_values_survive_parsing_and_strict_conversion_refuses_them() {
        let b = batch(1);
        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.checkpoint.root = Hash32::ZERO;
        let parsed = FabricDeliveryBatch::parse(&wire.to_json()).unwrap();
        assert!(parsed.checkpoint.root.is_zero());
        assert!(matches!(
            parsed.into_batch(),
            Err(Error::Proof(causeway_proofs::Error::ZeroRoot))
        ));

        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.signatures[0] = WireBytes(vec![1; 64]);
        let parsed = FabricDeliveryBatch::parse(&wire.to_json()).unwrap();
        assert_eq!(parsed.signatures[0].0.len(), 64);
        assert!(parsed.into_batch().is_err());

        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.items[0].message = WireBytes(vec![1; 80]);
        let parsed = FabricDeliveryBatch::parse(&wire.to_json()).unwrap();
        assert!(matches!(
            parsed.into_batch(),
            Err(Error::Proof(causeway_proofs::Error::MessageTooShort { .. }))
        ));

        let mut wire = FabricDeliveryBatch::from_batch(&b);
        wire.checkpoint.version = 2;
        let err = FabricDeliveryBatch::parse(&wire.to_json())
            .unwrap()
            .into_batch()
            .unwrap_err();
        assert!(err.to_string().contains("checkpoint version 2"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Any bytes: an error or a batch, never a panic; whatever parses re-encodes to JSON
        /// that parses to the same batch.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Ok(batch) = FabricDeliveryBatch::parse(&bytes) {
                proptest::prop_assert_eq!(FabricDeliveryBatch::parse(&batch.to_json()).unwrap(), batch);
            }
        }

        /// One byte of a valid batch changed: still never a panic, and a strict batch that
        /// survives is internally consistent.
        #[test]
        fn mutated_batches_never_panic(position in 0usize..4096, byte in proptest::prelude::any::<u8>()) {
            let mut json = FabricDeliveryBatch::from_batch(&batch(3)).to_json();
            let at = position % json.len();
            json[at] = byte;
            if let Ok(wire) = FabricDeliveryBatch::parse(&json)
                && let Ok(strict) = wire.clone().into_batch()
            {
                proptest::prop_assert_eq!(FabricDeliveryBatch::from_batch(&strict), wire);
            }
        }
    }

    #[test]
    fn results_round_trip_in_the_documented_shape() {
        let results = vec![
            DeliveryResult {
                id: MessageId(Hash32([1; 32])),
                outcome: MessageOutcome::Delivered,
            },
            DeliveryResult {
                id: MessageId(Hash32([2; 32])),
                outcome: MessageOutcome::Failed {
                    reason: "Rejected".into(),
                },
            },
        ];
        let json = encode_results(&results);
        let text = String::from_utf8(json.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"[{{"id":"0x{}","result":"delivered"}},{{"id":"0x{}","result":"failed","reason":"Rejected"}}]"#,
                "01".repeat(32),
                "02".repeat(32)
            )
        );
        assert_eq!(parse_results(&json).unwrap(), results);
        assert!(parse_results(b"[{\"id\":\"0x01\",\"result\":\"delivered\"}]").is_err());
        assert!(parse_results(b"[{\"id\":\"0x01\"").is_err());
    }

    #[test]
    fn revert_reasons_survive_being_wrapped_in_gateway_messages() {
        let reasons = vec![
            RevertReason::ZeroRoot,
            RevertReason::AlreadyDelivered {
                id: MessageId(Hash32([9; 32])),
            },
            RevertReason::BelowThreshold {
                valid: 1,
                threshold: 2,
            },
            RevertReason::ForbiddenRecipient {
                recipient: "0xabc".into(),
            },
        ];
        for reason in reasons {
            let message = encode_revert(&reason);
            assert!(message.starts_with(&reason.to_string()), "{message}");
            let wrapped = format!(
                "failed to endorse transaction; peer 127.0.0.1:7051 (Org1MSP): chaincode response 500, {message}; peer x (Org2MSP): chaincode response 500, {message}"
            );
            assert_eq!(decode_revert(&wrapped), Some(reason));
        }
        assert_eq!(decode_revert("chaincode response 500, boom"), None);
        assert_eq!(decode_revert("causeway-revert={not json"), None);
    }
}
