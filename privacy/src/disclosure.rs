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
//! - **Canonical JSON** of a value ([`canonical_json`]): RFC 8785 (JCS) — members sorted by
//!   UTF-16 code units, ECMAScript number spelling — through `serde_json_canonicalizer`. Numbers
//!   are IEEE doubles: integers beyond ±(2^53 − 1) are refused (JCS would round them, so two
//!   amounts could share a commitment); send them as strings. [`parse_exact_json`] (used by
//!   [`CommittedPayload::commit_json`]) also refuses number literals that are not exactly the
//!   double they denote (a uint256, `1.40000000000000001`).
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
use crate::envelope::{CommitmentInputs, ExpectedMessage};

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

/// Largest integer magnitude a JSON number carries exactly: 2^53 − 1 (RFC 7493 §2.2; RFC 8785
/// numbers are IEEE 754 doubles).
pub const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;

/// The canonical JSON encoding of `value`: RFC 8785 (JCS), by `serde_json_canonicalizer`.
///
/// Refuses integers beyond ±[`MAX_EXACT_INTEGER`] ([`Error::InexactNumber`]): JCS writes every
/// number as a double, so two such integers could share one encoding (and one commitment).
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, Error> {
    check_value(value, 0)?;
    serde_json_canonicalizer::to_vec(value).map_err(|e| Error::InexactNumber {
        number: String::new(),
        reason: format!("RFC 8785 cannot encode it: {e}"),
    })
}

/// Depth and number checks before canonicalising (the crate recurses without a bound).
fn check_value(value: &Value, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep { max: MAX_DEPTH });
    }
    match value {
        Value::Object(map) => map.values().try_for_each(|v| check_value(v, depth + 1)),
        Value::Array(items) => items.iter().try_for_each(|v| check_value(v, depth + 1)),
        Value::Number(n) => {
            let exact = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= MAX_EXACT_INTEGER,
                (None, Some(i)) => i.unsigned_abs() <= MAX_EXACT_INTEGER,
                // A double: it is its own canonical value.
                (None, None) => true,
            };
            if exact {
                Ok(())
            } else {
                Err(Error::InexactNumber {
                    number: n.to_string(),
                    reason: format!("an integer beyond ±{MAX_EXACT_INTEGER} (2^53 − 1)"),
                })
            }
        }
        Value::String(_) | Value::Bool(_) | Value::Null => Ok(()),
    }
}

/// Parses JSON text for commitment, refusing every number literal that is not exactly the
/// IEEE double it denotes (its shortest round-trip spelling names another decimal): integers
/// beyond 2^53, uint256 amounts, `1.40000000000000001`. Without this, two payloads differing
/// in such a number would parse to one value and share a commitment.
pub fn parse_exact_json(text: &str) -> Result<Value, Error> {
    // Duplicate member names first: serde_json keeps the last value, other parsers the first,
    // so a payload with one would commit to a value some readers never see.
    serde_json::from_str::<NoDuplicates>(text).map_err(|e| Error::InvalidJson {
        reason: e.to_string(),
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| Error::InvalidJson {
        reason: e.to_string(),
    })?;
    // The text is valid JSON now, so a scan outside strings finds exactly its number literals.
    let bytes = text.as_bytes();
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            check_literal(&text[start..i])?;
        } else {
            i += 1;
        }
    }
    check_value(&value, 0)?;
    Ok(value)
}

/// Any JSON value, refused if an object anywhere in it repeats a member name.
struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut names = BTreeSet::new();
        while let Some(name) = map.next_key::<String>()? {
            map.next_value::<NoDuplicates>()?;
            if !names.insert(name.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "member name {name:?} appears twice in one object"
                )));
            }
        }
        Ok(NoDuplicates)
    }
}

/// `Ok` if the number literal denotes exactly the double nearest to it.
fn check_literal(literal: &str) -> Result<(), Error> {
    let inexact = |reason: String| Error::InexactNumber {
        number: literal.to_owned(),
        reason,
    };
    let x: f64 = literal
        .parse()
        .map_err(|_| inexact("not a number literal".to_owned()))?;
    if !x.is_finite() {
        return Err(inexact("beyond the range of a double".to_owned()));
    }
    // Rust prints the shortest spelling that reads back as the same double.
    let shortest = format!("{x:e}");
    if decimal_parts(literal) == decimal_parts(&shortest) {
        Ok(())
    } else {
        Err(inexact(format!(
            "JSON numbers are IEEE doubles (RFC 8785) and this one would be committed as {x}"
        )))
    }
}

/// A decimal literal as (negative, significant digits, exponent of the first digit); zero is
/// `(false, "", 0)` whatever its sign.
fn decimal_parts(literal: &str) -> (bool, String, i64) {
    let (negative, rest) = match literal.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, literal),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(p) => (&rest[..p], rest[p + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int}{frac}");
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0').to_owned();
    if digits.is_empty() {
        return (false, digits, 0);
    }
    // Value = 0.d1d2… × 10^(int.len() - leading + exp).
    let point = int.len() as i64 - leading as i64 + exp;
    (negative, digits, point)
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

pub(crate) fn object(payload: &Value) -> Result<&serde_json::Map<String, Value>, Error> {
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

impl CommitmentOpening {
    /// The opening an envelope derives from its disclosure salts key (see
    /// `envelope/secrets.rs`): `salt(name) = HKDF-Expand(key, "field salt" ‖ lp(name), 32)`,
    /// padding leaf `i = HKDF-Expand(key, "padding leaf" ‖ i (u64 BE), 32)`. Every reader of the
    /// envelope rebuilds the same tree from the plaintext.
    pub(crate) fn derive<'a>(
        salts_key: &[u8; 32],
        names: impl Iterator<Item = &'a String>,
        padding: usize,
    ) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::from_prk(salts_key)
            .expect("a 32-byte PRK is valid for HKDF-SHA256");
        let salts = names
            .map(|name| {
                let mut salt = [0u8; 32];
                hk.expand_multi_info(
                    &[
                        b"field salt",
                        &(name.len() as u64).to_be_bytes(),
                        name.as_bytes(),
                    ],
                    &mut salt,
                )
                .expect("32 bytes is a valid HKDF-SHA256 output length");
                (name.clone(), FieldSalt(salt))
            })
            .collect();
        let padding = (0..padding as u64)
            .map(|i| {
                let mut leaf = [0u8; 32];
                hk.expand_multi_info(&[b"padding leaf", &i.to_be_bytes()], &mut leaf)
                    .expect("32 bytes is a valid HKDF-SHA256 output length");
                Hash32(leaf)
            })
            .collect();
        CommitmentOpening { salts, padding }
    }
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

    /// Commits to the fields of the JSON object in `text`, refusing numbers JSON cannot carry
    /// exactly (see [`parse_exact_json`]): what a gateway calls with an application's payload.
    pub fn commit_json(text: &str, padding: Padding) -> Result<Self, Error> {
        Self::commit(&parse_exact_json(text)?, padding)
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

    /// Padding leaves `padding` adds to `fields` fields.
    pub fn padding_for(fields: usize, padding: Padding) -> usize {
        match padding {
            Padding::None => 0,
            Padding::PowerOfTwo => fields.next_power_of_two() - fields,
        }
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
    /// Checks every disclosed field against `root`, a tree of `leaves` leaves (the size comes
    /// from the commitment, never from the proofs), and returns them by name. Fails if any
    /// value, salt, name or proof is wrong, if a proof states another tree size, if the fields
    /// are not in strictly increasing name and index order, or if nothing is disclosed.
    pub fn verify(
        &self,
        root: &PayloadRoot,
        leaves: u64,
    ) -> Result<BTreeMap<String, Value>, Error> {
        if root.0.is_zero() {
            return Err(Error::ZeroRoot);
        }
        let malformed = |reason: String| Err(Error::MalformedDisclosure { reason });
        if self.fields.is_empty() {
            return malformed("no field disclosed".into());
        }
        let size = causeway_proofs::LogSize(leaves);
        let mut out = BTreeMap::new();
        let mut previous: Option<&DisclosedField> = None;
        for f in &self.fields {
            if f.proof.size != size {
                return malformed(format!(
                    "field {:?} is proven in a tree of {} leaves, the commitment's has {}",
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

/// A disclosure with the public inputs of the on-chain message commitment it is checked
/// against: what a private message's disclosed fields travel as (in the message, to
/// `causeway verify`, to the Solidity verifier).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchoredDisclosure {
    /// The commitment's inputs besides the context (envelope digest, root, leaves).
    pub inputs: CommitmentInputs,
    /// The disclosed fields and their proofs.
    pub disclosure: Disclosure,
}

impl AnchoredDisclosure {
    /// Checks the disclosed fields against the on-chain message: the inputs hash, with the
    /// expected context, to the expected commitment; the fields prove against the root in a
    /// tree of exactly the committed size.
    pub fn verify(&self, expected: &ExpectedMessage) -> Result<BTreeMap<String, Value>, Error> {
        self.inputs
            .commitment(&expected.context)
            .verify(&expected.commitment)?;
        self.disclosure.verify(
            &self.inputs.disclosure_root(),
            self.inputs.disclosure_leaves,
        )
    }
}
