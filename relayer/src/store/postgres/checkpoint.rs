//! Checkpoints per lane and their signatures ([`CheckpointStore`](crate::store::CheckpointStore)),
//! the statements of the SQLite store's `checkpoint.rs` in PostgreSQL's dialect.

use causeway_proofs::attestation::{Equivocation, SignedCheckpoint};
use causeway_proofs::{Checkpoint, HashAlgorithm, LogSize};

use super::{Tx, col, dom, i64_of, source};
use crate::Error;
use crate::store::sqlite::codec;
use crate::store::{
    CheckpointOutcome, CheckpointRecord, Lane, MemberSignatureOutcome, MemberSignatureRecord,
    Result, StoredCheckpoint, ValidatorSignature,
};

/// The SQL condition "validator `s.validator` did not equivocate on the lane of checkpoint `c`".
const COUNTS: &str = "NOT EXISTS (SELECT 1 FROM equivocation e
     WHERE e.origin = c.origin AND e.destination = c.destination AND e.validator = s.validator)";

pub(super) fn record(tx: &mut Tx<'_>, record: &CheckpointRecord<'_>) -> Result<CheckpointOutcome> {
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
    let size = i64_of("checkpoint size", cp.size().0)?;
    let now = i64_of("time", record.now.0)?;
    let alg = i64::from(cp.hash_algorithm().id());
    let (o, d) = (dom(lane.origin), dom(lane.destination));
    let existing = tx.opt(
        "SELECT id, hash_algorithm, root FROM checkpoint
         WHERE origin = $1 AND destination = $2 AND size = $3",
        &[&o, &d, &size],
    )?;
    let checkpoint_id: i64 = match existing {
        Some(r) => {
            let stored_alg: i64 = col(&r, 1)?;
            let stored_root = codec::hash32("checkpoint root", col(&r, 2)?)?;
            if stored_alg != alg || stored_root != cp.root() {
                return Err(Error::CheckpointConflict {
                    lane,
                    size: cp.size(),
                    stored: stored_root,
                    offered: cp.root(),
                });
            }
            col(&r, 0)?
        }
        None => {
            let root: &[u8] = &cp.root().0[..];
            let r = tx.one(
                "INSERT INTO checkpoint (origin, destination, size, hash_algorithm, root,
                                         recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&o, &d, &size, &alg, &root, &now],
            )?;
            col(&r, 0)?
        }
    };
    let mut new_signatures = 0;
    for sig in record.signatures {
        let validator: &[u8] = &sig.validator.0[..];
        let signature: &[u8] = &sig.signature.as_bytes()[..];
        new_signatures += tx.exec(
            "INSERT INTO checkpoint_signature (checkpoint_id, validator, signature, recorded_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (checkpoint_id, validator) DO NOTHING",
            &[&checkpoint_id, &validator, &signature, &now],
        )?;
    }
    let total: i64 = col(
        &tx.one(
            &format!(
                "SELECT count(*) FROM checkpoint_signature s
                 JOIN checkpoint c ON c.id = s.checkpoint_id
                 WHERE s.checkpoint_id = $1 AND {COUNTS}"
            ),
            &[&checkpoint_id],
        )?,
        0,
    )?;
    tracing::debug!(
        lane = %lane, size = cp.size().0, new_signatures, total_signatures = total,
        "recorded checkpoint"
    );
    Ok(CheckpointOutcome {
        new_signatures: usize::try_from(new_signatures).unwrap_or(usize::MAX),
        total_signatures: usize::try_from(total).unwrap_or(usize::MAX),
    })
}

pub(super) fn latest(
    tx: &mut Tx<'_>,
    lane: Lane,
    min_signatures: usize,
) -> Result<Option<StoredCheckpoint>> {
    let min = i64::try_from(min_signatures).unwrap_or(i64::MAX);
    let row = tx.opt(
        &format!(
            "SELECT c.id, c.size, c.hash_algorithm, c.root, c.recorded_at FROM checkpoint c
             WHERE c.origin = $1 AND c.destination = $2
               AND (SELECT count(*) FROM checkpoint_signature s
                    WHERE s.checkpoint_id = c.id AND {COUNTS}) >= $3
             ORDER BY c.size DESC LIMIT 1"
        ),
        &[&dom(lane.origin), &dom(lane.destination), &min],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = col(&row, 0)?;
    let checkpoint = Checkpoint::new(
        lane.origin,
        hash_algorithm(col(&row, 2)?)?,
        LogSize(codec::to_u64("checkpoint size", col(&row, 1)?)?),
        codec::hash32("checkpoint root", col(&row, 3)?)?,
    )
    .map_err(|e| codec::corrupt("checkpoint", e.to_string()))?;
    let recorded_at = codec::millis(col(&row, 4)?)?;
    let rows = tx.query(
        &format!(
            "SELECT s.validator, s.signature FROM checkpoint_signature s
             JOIN checkpoint c ON c.id = s.checkpoint_id
             WHERE s.checkpoint_id = $1 AND {COUNTS}
             ORDER BY s.validator"
        ),
        &[&id],
    )?;
    let mut signatures = Vec::with_capacity(rows.len());
    for r in &rows {
        signatures.push(ValidatorSignature {
            validator: codec::evm_address(col(r, 0)?)?,
            signature: codec::signature(col(r, 1)?)?,
        });
    }
    Ok(Some(StoredCheckpoint {
        lane,
        checkpoint,
        signatures,
        recorded_at,
    }))
}

pub(super) fn record_member(
    tx: &mut Tx<'_>,
    record: &MemberSignatureRecord,
) -> Result<MemberSignatureOutcome> {
    let lane = record.lane;
    let cp = record.checkpoint;
    let validator = record.signature.validator;
    if cp.origin() != lane.origin {
        return Err(Error::WrongOrigin {
            expected: lane.origin,
            actual: cp.origin(),
        });
    }
    let (o, d) = (dom(lane.origin), dom(lane.destination));
    let v: &[u8] = &validator.0[..];
    let excluded: bool = col(
        &tx.one(
            "SELECT EXISTS (SELECT 1 FROM equivocation
                            WHERE origin = $1 AND destination = $2 AND validator = $3)",
            &[&o, &d, &v],
        )?,
        0,
    )?;
    if excluded {
        return Ok(MemberSignatureOutcome::Excluded);
    }
    let size = i64_of("checkpoint size", cp.size().0)?;
    let now = i64_of("time", record.now.0)?;
    let root: &[u8] = &cp.root().0[..];
    // Any other root this validator signed for the lane and size, counted or not.
    let earlier = tx.opt(
        "SELECT c.hash_algorithm, c.root, s.signature FROM checkpoint_signature s
         JOIN checkpoint c ON c.id = s.checkpoint_id
         WHERE c.origin = $1 AND c.destination = $2 AND c.size = $3 AND s.validator = $4
           AND c.root != $5
         UNION ALL
         SELECT hash_algorithm, root, signature FROM foreign_signature
         WHERE origin = $1 AND destination = $2 AND size = $3 AND validator = $4
           AND root != $5
         LIMIT 1",
        &[&o, &d, &size, &v, &root],
    )?;
    if let Some(r) = earlier {
        let first = SignedCheckpoint {
            checkpoint: Checkpoint::new(
                lane.origin,
                hash_algorithm(col(&r, 0)?)?,
                cp.size(),
                codec::hash32("root", col(&r, 1)?)?,
            )
            .map_err(|e| codec::corrupt("checkpoint", e.to_string()))?,
            signature: codec::signature(col(&r, 2)?)?,
        };
        let second = SignedCheckpoint {
            checkpoint: cp,
            signature: record.signature.signature,
        };
        let evidence = Equivocation::new(record.domain, validator, first, second);
        tx.exec(
            "INSERT INTO equivocation (origin, destination, validator, size, evidence, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&o, &d, &v, &size, &evidence.to_json(), &now],
        )?;
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
    let alg = i64::from(cp.hash_algorithm().id());
    let signature: &[u8] = &record.signature.signature.as_bytes()[..];
    tx.exec(
        "INSERT INTO foreign_signature (origin, destination, size, validator, hash_algorithm,
                                        root, signature, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (origin, destination, size, validator) DO NOTHING",
        &[&o, &d, &size, &v, &alg, &root, &signature, &now],
    )?;
    Ok(MemberSignatureOutcome::RootMismatch)
}

pub(super) fn equivocations(tx: &mut Tx<'_>, lane: Lane) -> Result<Vec<Equivocation>> {
    let rows = tx.query(
        "SELECT evidence FROM equivocation WHERE origin = $1 AND destination = $2
         ORDER BY recorded_at, validator",
        &[&dom(lane.origin), &dom(lane.destination)],
    )?;
    rows.iter()
        .map(|r| {
            let json: &str = col(r, 0)?;
            Equivocation::from_json(json.as_bytes())
                .map_err(|e| codec::corrupt("equivocation evidence", e.to_string()))
        })
        .collect()
}

fn hash_algorithm(alg: i64) -> Result<HashAlgorithm> {
    u8::try_from(alg)
        .ok()
        .and_then(|a| HashAlgorithm::from_id(a).ok())
        .ok_or_else(|| codec::corrupt("checkpoint hash algorithm", alg.to_string()))
}
