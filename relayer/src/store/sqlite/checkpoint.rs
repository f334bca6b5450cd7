//! Checkpoints per lane and their signatures ([`CheckpointStore`](crate::store::CheckpointStore)).

use causeway_proofs::attestation::{Equivocation, SignedCheckpoint};
use causeway_proofs::{Checkpoint, HashAlgorithm, LogSize};
use rusqlite::{OptionalExtension, Transaction, params};

use super::codec::{self, to_i64};
use super::{source, sql};
use crate::Error;
use crate::store::{
    CheckpointOutcome, CheckpointRecord, Lane, MemberSignatureOutcome, MemberSignatureRecord,
    Result, StoredCheckpoint, ValidatorSignature,
};

/// The SQL condition "validator `s.validator` did not equivocate on the lane of checkpoint `c`".
const COUNTS: &str = "NOT EXISTS (SELECT 1 FROM equivocation e
     WHERE e.origin = c.origin AND e.destination = c.destination AND e.validator = s.validator)";

pub(super) fn record(
    tx: &Transaction<'_>,
    record: &CheckpointRecord<'_>,
) -> Result<CheckpointOutcome> {
    let op = "record checkpoint";
    let lane = record.lane;
    let cp = record.checkpoint;
    if cp.origin() != lane.origin {
        return Err(Error::WrongOrigin {
            expected: lane.origin,
            actual: cp.origin(),
        });
    }
    let log_size = source::log_size(tx, lane.origin)?;
    if cp.size() > log_size {
        return Err(Error::CheckpointBeyondLog {
            lane,
            size: cp.size(),
            log_size,
        });
    }
    let size = to_i64("checkpoint size", cp.size().0)?;
    let now = to_i64("time", record.now.0)?;
    let alg = i64::from(cp.hash_algorithm().id());
    let existing: Option<(i64, i64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT id, hash_algorithm, root FROM checkpoint
             WHERE origin = ?1 AND destination = ?2 AND size = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![lane.origin.0, lane.destination.0, size], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(sql(op))?;
    let checkpoint_id = match existing {
        Some((id, stored_alg, stored_root)) => {
            let stored_root = codec::hash32("checkpoint root", &stored_root)?;
            if stored_alg != alg || stored_root != cp.root() {
                return Err(Error::CheckpointConflict {
                    lane,
                    size: cp.size(),
                    stored: stored_root,
                    offered: cp.root(),
                });
            }
            id
        }
        None => tx
            .prepare_cached(
                "INSERT INTO checkpoint (origin, destination, size, hash_algorithm, root,
                                         recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        lane.origin.0,
                        lane.destination.0,
                        size,
                        alg,
                        &cp.root().0[..],
                        now
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql(op))?,
    };
    let mut new_signatures = 0;
    for sig in record.signatures {
        new_signatures += tx
            .prepare_cached(
                "INSERT INTO checkpoint_signature (checkpoint_id, validator, signature, recorded_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (checkpoint_id, validator) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    checkpoint_id,
                    &sig.validator.0[..],
                    &sig.signature.as_bytes()[..],
                    now
                ])
            })
            .map_err(sql(op))?;
    }
    let total: i64 = tx
        .prepare_cached(&format!(
            "SELECT count(*) FROM checkpoint_signature s JOIN checkpoint c ON c.id = s.checkpoint_id
             WHERE s.checkpoint_id = ?1 AND {COUNTS}"
        ))
        .and_then(|mut s| s.query_row([checkpoint_id], |r| r.get(0)))
        .map_err(sql(op))?;
    tracing::debug!(
        lane = %lane, size = cp.size().0, new_signatures, total_signatures = total,
        "recorded checkpoint"
    );
    Ok(CheckpointOutcome {
        new_signatures,
        total_signatures: usize::try_from(total).unwrap_or(usize::MAX),
    })
}

pub(super) fn latest(
    tx: &Transaction<'_>,
    lane: Lane,
    min_signatures: usize,
) -> Result<Option<StoredCheckpoint>> {
    let op = "read latest checkpoint";
    let min = i64::try_from(min_signatures).unwrap_or(i64::MAX);
    let row: Option<(i64, i64, i64, Vec<u8>, i64)> = tx
        .prepare_cached(&format!(
            "SELECT c.id, c.size, c.hash_algorithm, c.root, c.recorded_at FROM checkpoint c
             WHERE c.origin = ?1 AND c.destination = ?2
               AND (SELECT count(*) FROM checkpoint_signature s
                    WHERE s.checkpoint_id = c.id AND {COUNTS}) >= ?3
             ORDER BY c.size DESC LIMIT 1"
        ))
        .and_then(|mut s| {
            s.query_row(params![lane.origin.0, lane.destination.0, min], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(sql(op))?;
    let Some((id, size, alg, root, recorded_at)) = row else {
        return Ok(None);
    };
    let alg = u8::try_from(alg)
        .ok()
        .and_then(|a| HashAlgorithm::from_id(a).ok())
        .ok_or_else(|| codec::corrupt("checkpoint hash algorithm", alg.to_string()))?;
    let checkpoint = Checkpoint::new(
        lane.origin,
        alg,
        LogSize(codec::to_u64("checkpoint size", size)?),
        codec::hash32("checkpoint root", &root)?,
    )
    .map_err(|e| codec::corrupt("checkpoint", e.to_string()))?;

    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT s.validator, s.signature FROM checkpoint_signature s
             JOIN checkpoint c ON c.id = s.checkpoint_id
             WHERE s.checkpoint_id = ?1 AND {COUNTS}
             ORDER BY s.validator"
        ))
        .map_err(sql(op))?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(sql(op))?;
    let mut signatures = Vec::new();
    for row in rows {
        let (validator, signature) = row.map_err(sql(op))?;
        signatures.push(ValidatorSignature {
            validator: codec::evm_address(&validator)?,
            signature: codec::signature(&signature)?,
        });
    }
    Ok(Some(StoredCheckpoint {
        lane,
        checkpoint,
        signatures,
        recorded_at: codec::millis(recorded_at)?,
    }))
}

pub(super) fn record_member(
    tx: &Transaction<'_>,
    record: &MemberSignatureRecord,
) -> Result<MemberSignatureOutcome> {
    let op = "record a member's signature";
    let lane = record.lane;
    let cp = record.checkpoint;
    let validator = record.signature.validator;
    if cp.origin() != lane.origin {
        return Err(Error::WrongOrigin {
            expected: lane.origin,
            actual: cp.origin(),
        });
    }
    let excluded: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM equivocation
                            WHERE origin = ?1 AND destination = ?2 AND validator = ?3)",
        )
        .and_then(|mut s| {
            s.query_row(
                params![lane.origin.0, lane.destination.0, &validator.0[..]],
                |r| r.get(0),
            )
        })
        .map_err(sql(op))?;
    if excluded {
        return Ok(MemberSignatureOutcome::Excluded);
    }
    let size = to_i64("checkpoint size", cp.size().0)?;
    let now = to_i64("time", record.now.0)?;
    // Any other root this validator signed for the lane and size, counted or not.
    let earlier: Option<(i64, Vec<u8>, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT c.hash_algorithm, c.root, s.signature FROM checkpoint_signature s
             JOIN checkpoint c ON c.id = s.checkpoint_id
             WHERE c.origin = ?1 AND c.destination = ?2 AND c.size = ?3 AND s.validator = ?4
               AND c.root != ?5
             UNION ALL
             SELECT hash_algorithm, root, signature FROM foreign_signature
             WHERE origin = ?1 AND destination = ?2 AND size = ?3 AND validator = ?4
               AND root != ?5
             LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    lane.origin.0,
                    lane.destination.0,
                    size,
                    &validator.0[..],
                    &cp.root().0[..]
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
        .map_err(sql(op))?;
    if let Some((alg, root, signature)) = earlier {
        let alg = hash_algorithm(alg)?;
        let first = SignedCheckpoint {
            checkpoint: Checkpoint::new(lane.origin, alg, cp.size(), codec::hash32("root", &root)?)
                .map_err(|e| codec::corrupt("checkpoint", e.to_string()))?,
            signature: codec::signature(&signature)?,
        };
        let second = SignedCheckpoint {
            checkpoint: cp,
            signature: record.signature.signature,
        };
        let evidence = Equivocation::new(record.domain, validator, first, second);
        tx.prepare_cached(
            "INSERT INTO equivocation (origin, destination, validator, size, evidence, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                lane.origin.0,
                lane.destination.0,
                &validator.0[..],
                size,
                evidence.to_json(),
                now
            ])
        })
        .map_err(sql(op))?;
        tracing::error!(
            lane = %lane, size = cp.size().0, %validator,
            "validator signed two roots for one log size: equivocation evidence recorded, its \
             signatures no longer count on this lane"
        );
        return Ok(MemberSignatureOutcome::Equivocation(Box::new(evidence)));
    }
    if record.matches_own_root {
        let outcome = self::record(
            tx,
            &CheckpointRecord {
                lane,
                checkpoint: cp,
                signatures: std::slice::from_ref(&record.signature),
                now: record.now,
            },
        )?;
        return Ok(MemberSignatureOutcome::Counted {
            total_signatures: outcome.total_signatures,
        });
    }
    let log_size = source::log_size(tx, lane.origin)?;
    if cp.size() > log_size {
        return Err(Error::CheckpointBeyondLog {
            lane,
            size: cp.size(),
            log_size,
        });
    }
    tx.prepare_cached(
        "INSERT INTO foreign_signature (origin, destination, size, validator, hash_algorithm,
                                        root, signature, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (origin, destination, size, validator) DO NOTHING",
    )
    .and_then(|mut s| {
        s.execute(params![
            lane.origin.0,
            lane.destination.0,
            size,
            &validator.0[..],
            i64::from(cp.hash_algorithm().id()),
            &cp.root().0[..],
            &record.signature.signature.as_bytes()[..],
            now
        ])
    })
    .map_err(sql(op))?;
    Ok(MemberSignatureOutcome::RootMismatch)
}

pub(super) fn equivocations(tx: &Transaction<'_>, lane: Lane) -> Result<Vec<Equivocation>> {
    let op = "read equivocation evidence";
    let mut stmt = tx
        .prepare_cached(
            "SELECT evidence FROM equivocation WHERE origin = ?1 AND destination = ?2
             ORDER BY recorded_at, validator",
        )
        .map_err(sql(op))?;
    let rows = stmt
        .query_map(params![lane.origin.0, lane.destination.0], |r| {
            r.get::<_, String>(0)
        })
        .map_err(sql(op))?;
    let mut out = Vec::new();
    for row in rows {
        let json = row.map_err(sql(op))?;
        out.push(
            Equivocation::from_json(json.as_bytes())
                .map_err(|e| codec::corrupt("equivocation evidence", e.to_string()))?,
        );
    }
    Ok(out)
}

fn hash_algorithm(alg: i64) -> Result<HashAlgorithm> {
    u8::try_from(alg)
        .ok()
        .and_then(|a| HashAlgorithm::from_id(a).ok())
        .ok_or_else(|| codec::corrupt("checkpoint hash algorithm", alg.to_string()))
}
