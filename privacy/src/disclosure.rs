//! Selective disclosure of a JSON payload's fields.
//!
//! Each top-level field of a JSON object gets a salted commitment (its *leaf*); the leaves, in
//! canonical order, are the entries of an RFC 9162 Merkle log (`causeway-proofs`, SHA-256) whose
//! root is the public payload commitment carried on chain. Disclosing a field reveals its name,
//! value, salt and inclusion proof; anyone with the root checks it, and the other fields stay
//! hidden (their leaves are salted hashes; the proof reveals only sibling hashes).
//!
//! # Definitions
//!
//! - **Canonical order**: fields sorted by the UTF-8 bytes of their names (leaf `i` is the
//!   `i`-th name), then any padding leaves.
//! - **Canonical JSON** of a value ([`canonical_json`]): no insignificant whitespace; object
//!   members sorted by the UTF-8 bytes of their names, recursively; strings escaped and numbers
//!   written as `serde_json` writes them (integers verbatim, other numbers in shortest
//!   round-trip form). This equals RFC 8785 (JCS) for objects, arrays, strings, booleans, null
//!   and integers; non-integer numbers may be spelled differently, so verifiers must use this
//!   definition, not a JCS library, for them.
//! - **Leaf data** (what is appended to the log, which then hashes it as `SHA-256(0x00 ‖ data)`):
//!
//!   ```text
//!   SHA-256( lp("causeway/disclosure-leaf/v1") ‖ lp(salt) ‖ lp(name) ‖ lp(canonical JSON) )
//!   lp(x) = u64 big-endian length of x ‖ x;  salt = 32 random bytes per field
//!   ```
//!
//! # What leaks
//!
//! To anyone holding the root: nothing about names or values (32-byte salts). To anyone shown a
//! disclosure: the disclosed fields; the tree size (each proof states it), hence the number of
//! fields up to padding ([`Padding::PowerOfTwo`] rounds it up to a power of two with random
//! leaves indistinguishable from real ones); and each disclosed field's index, i.e. its rank in
//! name order (how many field names sort before it).
//!
//! # Limits
//!
//! The committer is trusted to commit to each name once: a dishonest committer could include a
//! name twice with two values and disclose either. Verifiers do check that a disclosure's names
//! and indices are strictly increasing together, so one disclosure cannot show both.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use causeway_proofs::hash::Sha256Algorithm;
use causeway_proofs::{Hash32, HashAlgorithm, InclusionProof, LeafIndex, MerkleLog};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// Most fields (leaves, padding included) one payload commitment may hold.
pub const MAX_FIELDS: usize = 65_536;
/// Deepest nesting of a value the canonical encoder accepts (serde_json's own parse limit).
pub const MAX_DEPTH: usize = 128;

const LEAF_TAG: &[u8] = b"causeway/disclosure-leaf/v1";

/// The random salt of one field's commitment. Secret until the field is disclosed; zeroized on
/// drop; `Debug` redacts it. Serialised as 64 hex digits.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FieldSalt([u8; 32]);

impl FieldSalt {
    /// Wraps 32 salt bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        FieldSalt(bytes)
    }

    /// The salt bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for FieldSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldSalt(<redacted>)")
    }
}

impl Serialize for FieldSalt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for FieldSalt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        causeway_proofs::hash::parse_hex_array::<32>(&s, "field salt")
            .map(FieldSalt)
            .map_err(serde::de::Error::custom)
    }
}

/// The public commitment to a JSON payload: the root of its field tree. Compared in constant
/// time.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PayloadRoot(pub Hash32);

impl ConstantTimeEq for PayloadRoot {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.0.ct_eq(&other.0.0)
    }
}

impl PartialEq for PayloadRoot {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PayloadRoot {}

impl fmt::Display for PayloadRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Whether to hide the exact number of fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Padding {
    /// One leaf per field: disclosures reveal the field count.
    #[default]
    None,
    /// Random leaves up to the next power of two: disclosures reveal only that bound.
    PowerOfTwo,
}

/// The canonical JSON encoding of `value` (see the module documentation).
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write_canonical(value, &mut out, 0)?;
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep { max: MAX_DEPTH });
    }
    let scalar = |v: &Value, out: &mut Vec<u8>| {
        serde_json::to_writer(out, v).expect("writing a JSON scalar into memory cannot fail");
    };
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (name, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, name).expect("writing a JSON string cannot fail");
                out.push(b':');
                write_canonical(v, out, depth + 1)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out, depth + 1)?;
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
    Ok(())
}

/// The leaf data of field `name` with `value` and `salt` (see the module documentation).
pub fn leaf_data(salt: &FieldSalt, name: &str, value: &Value) -> Result<Hash32, Error> {
    let json = canonical_json(value)?;
    let mut h = Sha256::new();
    for part in [LEAF_TAG, &salt.0[..], name.as_bytes(), &json] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    Ok(Hash32(h.finalize().into()))
}

fn object(payload: &Value) -> Result<&serde_json::Map<String, Value>, Error> {
    let found = match payload {
        Value::Object(m) if !m.is_empty() => return Ok(m),
        Value::Object(_) => "an empty object",
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    Err(Error::NotAnObject { found })
}

/// The secrets a payload's holder keeps to disclose fields later: every salt and padding leaf.
/// Store it as confidentially as the payload itself.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentOpening {
    /// Salt of each field, by name.
    pub salts: BTreeMap<String, FieldSalt>,
    /// Padding leaves, in order after the fields.
    pub padding: Vec<Hash32>,
}

impl fmt::Debug for CommitmentOpening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitmentOpening")
            .field("fields", &self.salts.len())
            .field("padding", &self.padding.len())
            .finish_non_exhaustive()
    }
}

struct CommittedField {
    name: String,
    value: Value,
    salt: FieldSalt,
}

/// A JSON payload with its field commitments and tree, held by whoever may disclose fields.
pub struct CommittedPayload {
    fields: Vec<CommittedField>,
    padding: Vec<Hash32>,
    log: MerkleLog<Sha256Algorithm>,
}

impl fmt::Debug for CommittedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommittedPayload")
            .field("root", &self.root())
            .field("fields", &self.fields.len())
            .field("padding", &self.padding.len())
            .finish_non_exhaustive()
    }
}

impl CommittedPayload {
    /// Commits to the fields of the JSON object `payload` with fresh salts from the operating
    /// system's random number generator.
    pub fn commit(payload: &Value, padding: Padding) -> Result<Self, Error> {
        Self::commit_with_rng(payload, padding, &mut rand_core::OsRng)
    }

    /// [`CommittedPayload::commit`] with the given random number generator.
    pub fn commit_with_rng(
        payload: &Value,
        padding: Padding,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, Error> {
        let map = object(payload)?;
        let count = map.len();
        let total = match padding {
            Padding::None => count,
            Padding::PowerOfTwo => count.next_power_of_two(),
        };
        if total > MAX_FIELDS {
            return Err(Error::TooManyFields {
                count: total,
                max: MAX_FIELDS,
            });
        }
        let mut salts = BTreeMap::new();
        for name in map.keys() {
            let mut salt = [0u8; 32];
            rng.fill_bytes(&mut salt);
            salts.insert(name.clone(), FieldSalt(salt));
        }
        let padding = (count..total)
            .map(|_| {
                let mut leaf = [0u8; 32];
                rng.fill_bytes(&mut leaf);
                Hash32(leaf)
            })
            .collect();
        Self::from_opening(payload, &CommitmentOpening { salts, padding })
    }

    /// Rebuilds the commitment of `payload` from stored secrets, e.g. to disclose fields later.
    pub fn from_opening(payload: &Value, opening: &CommitmentOpening) -> Result<Self, Error> {
        let map = object(payload)?;
        let total = map.len() + opening.padding.len();
        if total > MAX_FIELDS {
            return Err(Error::TooManyFields {
                count: total,
                max: MAX_FIELDS,
            });
        }
        if opening.salts.len() != map.len() {
            return Err(Error::OpeningMismatch {
                reason: format!(
                    "{} salts for a payload of {} fields",
                    opening.salts.len(),
                    map.len()
                ),
            });
        }
        let mut names: Vec<&String> = map.keys().collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut fields = Vec::with_capacity(names.len());
        let mut log = MerkleLog::new();
        for name in names {
            let salt = opening
                .salts
                .get(name)
                .ok_or_else(|| Error::OpeningMismatch {
                    reason: format!("no salt for field {name:?}"),
                })?;
            let value = map[name].clone();
            log.append(&leaf_data(salt, name, &value)?);
            fields.push(CommittedField {
                name: name.clone(),
                value,
                salt: salt.clone(),
            });
        }
        for leaf in &opening.padding {
            log.append(leaf);
        }
        Ok(CommittedPayload {
            fields,
            padding: opening.padding.clone(),
            log,
        })
    }

    /// The secrets to store for later disclosures.
    pub fn opening(&self) -> CommitmentOpening {
        CommitmentOpening {
            salts: self
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.salt.clone()))
                .collect(),
            padding: self.padding.clone(),
        }
    }

    /// The public commitment: the root of the field tree.
    pub fn root(&self) -> PayloadRoot {
        PayloadRoot(self.log.root())
    }

    /// Number of leaves (fields plus padding): what every disclosure reveals.
    pub fn leaf_count(&self) -> u64 {
        self.log.size().0
    }

    /// A disclosure of the fields named in `names` (any order; repeats ignored).
    pub fn disclose<S: AsRef<str>>(&self, names: &[S]) -> Result<Disclosure, Error> {
        let wanted: BTreeSet<&str> = names.iter().map(AsRef::as_ref).collect();
        let mut fields = Vec::with_capacity(wanted.len());
        for name in &wanted {
            let index = self
                .fields
                .binary_search_by(|f| f.name.as_bytes().cmp(name.as_bytes()))
                .map_err(|_| Error::UnknownField {
                    name: (*name).to_owned(),
                })?;
            let f = &self.fields[index];
            let proof = self
                .log
                .inclusion_proof(LeafIndex(index as u64), self.log.size())
                .map_err(|source| Error::FieldProof {
                    name: f.name.clone(),
                    source,
                })?;
            fields.push(DisclosedField {
                name: f.name.clone(),
                value: f.value.clone(),
                salt: f.salt.clone(),
                proof,
            });
        }
        // BTreeSet<&str> iterates in byte order, which is the leaf order.
        Ok(Disclosure { fields })
    }
}

/// Some fields of a committed payload, with what it takes to check them against the root.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// The disclosed fields, in leaf order.
    pub fields: Vec<DisclosedField>,
}

/// One disclosed field.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosedField {
    /// The field name.
    pub name: String,
    /// Its value.
    pub value: Value,
    /// Its salt.
    pub salt: FieldSalt,
    /// Inclusion proof of its leaf in the field tree.
    pub proof: InclusionProof,
}

impl Disclosure {
    /// Checks every disclosed field against `root` and returns them by name. Fails if any
    /// value, salt, name or proof is wrong, if the fields are not in strictly increasing name
    /// and index order, if the proofs disagree on the tree size, or if nothing is disclosed.
    pub fn verify(&self, root: &PayloadRoot) -> Result<BTreeMap<String, Value>, Error> {
        if root.0.is_zero() {
            return Err(Error::ZeroRoot);
        }
        let malformed = |reason: String| Err(Error::MalformedDisclosure { reason });
        let Some(first) = self.fields.first() else {
            return malformed("no field disclosed".into());
        };
        let size = first.proof.size;
        let mut out = BTreeMap::new();
        let mut previous: Option<&DisclosedField> = None;
        for f in &self.fields {
            if f.proof.size != size {
                return malformed(format!(
                    "field {:?} is proven in a tree of {} leaves, the first field in one of {}",
                    f.name, f.proof.size.0, size.0
                ));
            }
            if let Some(p) = previous
                && (p.name.as_bytes() >= f.name.as_bytes() || p.proof.index >= f.proof.index)
            {
                return malformed(format!(
                    "fields {:?} (leaf {}) and {:?} (leaf {}) are not in strictly increasing \
                     name and leaf order",
                    p.name, p.proof.index.0, f.name, f.proof.index.0
                ));
            }
            let leaf = leaf_data(&f.salt, &f.name, &f.value)?;
            f.proof
                .verify(HashAlgorithm::Sha256, &leaf, &root.0)
                .map_err(|source| Error::FieldProof {
                    name: f.name.clone(),
                    source,
                })?;
            out.insert(f.name.clone(), f.value.clone());
            previous = Some(f);
        }
        Ok(out)
    }
}
