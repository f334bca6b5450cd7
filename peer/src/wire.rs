//! The wire form of a signed checkpoint ([`proto::SignedCheckpoint`]) and the checks every
//! received one passes before anything else sees it.
//!
//! Security: a message is accepted only if every field is well formed (exact lengths, a known
//! hash algorithm, a non-zero root), its validator is the sending member's own validator, and
//! its lane is one this gateway asked for. Anything else is a [`Violation`]: the peer is cut
//! off. The signature itself is recovered by the attest stage with the lane's signing domain.

use std::collections::BTreeSet;
use std::fmt;

use causeway_proofs::{Checkpoint, Domain, EvmAddress, Hash32, HashAlgorithm, LogSize, Signature};
use causeway_relayer::pipeline::PeerSignature;
use causeway_relayer::store::{Lane, ValidatorSignature};

/// The generated protobuf messages and gRPC stubs of `proto/peer.proto`
/// (package `causeway.peer.v1`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod proto {
    tonic::include_proto!("causeway.peer.v1");
}

/// Why a message from a peer was refused (the peer is then cut off).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// A field has the wrong length or value.
    Malformed {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature names a validator other than the sending member's own.
    ForeignValidator {
        /// The member's validator.
        expected: EvmAddress,
        /// The validator named in the message.
        found: EvmAddress,
    },
    /// A lane this gateway did not ask for.
    UnrequestedLane {
        /// The lane.
        lane: Lane,
    },
    /// A message larger than the limit.
    Oversized {
        /// tonic's description.
        reason: String,
    },
    /// Bytes that are not a protobuf message of the expected type.
    Undecodable {
        /// tonic's description.
        reason: String,
    },
    /// Well-formed signatures beyond what any honest member sends: the same one again and
    /// again, or more a second than the limits allow ([`crate::Limits`]).
    Flooding {
        /// Which bound was broken.
        reason: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Malformed { field, reason } => write!(f, "malformed {field}: {reason}"),
            Violation::ForeignValidator { expected, found } => write!(
                f,
                "signature of validator {found}, but this member's validator is {expected}"
            ),
            Violation::UnrequestedLane { lane } => write!(f, "lane {lane} was not requested"),
            Violation::Oversized { reason } => write!(f, "oversized message: {reason}"),
            Violation::Undecodable { reason } => write!(f, "undecodable message: {reason}"),
            Violation::Flooding { reason } => write!(f, "flooding: {reason}"),
        }
    }
}

/// The wire form of `signature` on `lane`.
pub fn encode(lane: Lane, signature: &PeerSignature) -> proto::SignedCheckpoint {
    let checkpoint = &signature.checkpoint;
    proto::SignedCheckpoint {
        origin: lane.origin.0,
        destination: lane.destination.0,
        hash_algorithm: u32::from(checkpoint.hash_algorithm().id()),
        size: checkpoint.size().0,
        root: checkpoint.root().0.to_vec(),
        validator: signature.signature.validator.0.to_vec(),
        signature: signature.signature.signature.0.to_vec(),
    }
}

/// Checks a message received from the member whose validator is `validator`, for a gateway that
/// asked for `lanes`.
pub(crate) fn decode(
    message: &proto::SignedCheckpoint,
    validator: EvmAddress,
    lanes: &BTreeSet<Lane>,
) -> Result<(Lane, PeerSignature), Violation> {
    let malformed = |field: &'static str, reason: String| Violation::Malformed { field, reason };
    let hash_id = u8::try_from(message.hash_algorithm).map_err(|_| {
        malformed(
            "hash_algorithm",
            format!("{} is not a known identifier", message.hash_algorithm),
        )
    })?;
    let hash_algorithm =
        HashAlgorithm::from_id(hash_id).map_err(|e| malformed("hash_algorithm", e.to_string()))?;
    let root: [u8; 32] = message
        .root
        .as_slice()
        .try_into()
        .map_err(|_| malformed("root", format!("{} bytes, expected 32", message.root.len())))?;
    let found: [u8; 20] = message.validator.as_slice().try_into().map_err(|_| {
        malformed(
            "validator",
            format!("{} bytes, expected 20", message.validator.len()),
        )
    })?;
    let signature = Signature::from_slice(&message.signature)
        .map_err(|e| malformed("signature", e.to_string()))?;
    let lane = Lane {
        origin: Domain(message.origin),
        destination: Domain(message.destination),
    };
    let checkpoint = Checkpoint::new(
        lane.origin,
        hash_algorithm,
        LogSize(message.size),
        Hash32(root),
    )
    .map_err(|e| malformed("root", e.to_string()))?;
    let found = EvmAddress(found);
    if found != validator {
        return Err(Violation::ForeignValidator {
            expected: validator,
            found,
        });
    }
    if !lanes.contains(&lane) {
        return Err(Violation::UnrequestedLane { lane });
    }
    Ok((
        lane,
        PeerSignature {
            checkpoint,
            signature: ValidatorSignature {
                validator: found,
                signature,
            },
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Lane, PeerSignature) {
        let lane = Lane {
            origin: Domain(1),
            destination: Domain(2),
        };
        let checkpoint = Checkpoint::new(
            Domain(1),
            HashAlgorithm::Keccak256,
            LogSize(9),
            Hash32([7; 32]),
        )
        .expect("non-zero root");
        let signature = PeerSignature {
            checkpoint,
            signature: ValidatorSignature {
                validator: EvmAddress([5; 20]),
                signature: Signature([3; 65]),
            },
        };
        (lane, signature)
    }

    #[test]
    fn encode_then_decode_is_the_identity() {
        let (lane, signature) = sample();
        let lanes = BTreeSet::from([lane]);
        let wire = encode(lane, &signature);
        assert_eq!(
            decode(&wire, EvmAddress([5; 20]), &lanes),
            Ok((lane, signature))
        );
    }

    #[test]
    fn every_malformed_field_is_refused() {
        let (lane, signature) = sample();
        let lanes = BTreeSet::from([lane]);
        let good = encode(lane, &signature);
        let validator = EvmAddress([5; 20]);
        let cases: Vec<(&str, proto::SignedCheckpoint)> = vec![
            (
                "hash_algorithm",
                proto::SignedCheckpoint {
                    hash_algorithm: 0,
                    ..good.clone()
                },
            ),
            (
                "hash_algorithm",
                proto::SignedCheckpoint {
                    hash_algorithm: 257,
                    ..good.clone()
                },
            ),
            (
                "root",
                proto::SignedCheckpoint {
                    root: vec![1; 31],
                    ..good.clone()
                },
            ),
            (
                "root",
                proto::SignedCheckpoint {
                    root: vec![0; 32],
                    ..good.clone()
                },
            ),
            (
                "validator",
                proto::SignedCheckpoint {
                    validator: vec![5; 21],
                    ..good.clone()
                },
            ),
            (
                "signature",
                proto::SignedCheckpoint {
                    signature: vec![3; 64],
                    ..good.clone()
                },
            ),
        ];
        for (field, message) in cases {
            match decode(&message, validator, &lanes) {
                Err(Violation::Malformed { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let other = proto::SignedCheckpoint {
            validator: vec![6; 20],
            ..good.clone()
        };
        assert!(matches!(
            decode(&other, validator, &lanes),
            Err(Violation::ForeignValidator { .. })
        ));
        let elsewhere = proto::SignedCheckpoint {
            destination: 3,
            ..good
        };
        assert!(matches!(
            decode(&elsewhere, validator, &lanes),
            Err(Violation::UnrequestedLane { .. })
        ));
    }
}
