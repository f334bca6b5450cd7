//! The subset of the TARS binary encoding (Tencent's RPC serialisation, module `bcostars`)
//! that a signed FISCO BCOS transaction uses: a reader for untrusted bytes and a writer.
//!
//! Ours, not a crate: no maintained Rust TARS crate exists, and the transaction needs ten
//! field types. Rules (protocol notes B.8, checked on the published sendTransaction
//! example): a field head is one byte `tag << 4 | type` (tag ≥ 15: `0xF0 | type` and a tag
//! byte); integers take the smallest of 1/2/4/8 bytes big-endian and zero is type 12 with no
//! body; strings have a 1-byte (type 6) or 4-byte (type 7) length; `vector<byte>` is type 13,
//! an element head `0x00`, a length field and the bytes; other vectors are type 9, a length
//! field and the elements (tag 0); a nested struct is type 10 … type 11.
//!
//! The reader is bounded by its input: every length is checked against the bytes left before
//! anything is allocated, and nesting is capped at [`MAX_DEPTH`].

use super::FiscoError;

/// Deepest struct/list nesting the reader accepts (a transaction needs 3).
pub const MAX_DEPTH: usize = 8;

const T_INT8: u8 = 0;
const T_INT16: u8 = 1;
const T_INT32: u8 = 2;
const T_INT64: u8 = 3;
const T_FLOAT: u8 = 4;
const T_DOUBLE: u8 = 5;
const T_STRING1: u8 = 6;
const T_STRING4: u8 = 7;
const T_MAP: u8 = 8;
const T_LIST: u8 = 9;
const T_STRUCT_BEGIN: u8 = 10;
const T_STRUCT_END: u8 = 11;
const T_ZERO: u8 = 12;
const T_SIMPLE_LIST: u8 = 13;

/// A decoded TARS value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any integer type (and zero).
    Int(i64),
    /// A float or double, kept as its bits (FISCO BCOS's transaction has none).
    Float(u64),
    /// A string (bytes as sent; FISCO BCOS strings are ASCII).
    Str(Vec<u8>),
    /// A `vector<byte>`.
    Bytes(Vec<u8>),
    /// Any other vector.
    List(Vec<Value>),
    /// A struct: its fields by tag, in wire order.
    Struct(Vec<(u8, Value)>),
}

fn err(what: &'static str, reason: impl Into<String>) -> FiscoError {
    FiscoError::Tars {
        what,
        reason: reason.into(),
    }
}

/// Reads a bare field sequence (a top-level struct, as FISCO BCOS sends a transaction).
///
/// Fails with [`FiscoError::Tars`] on truncated input, unknown types, maps, nesting deeper
/// than [`MAX_DEPTH`], or a struct end at top level.
pub fn decode_fields(what: &'static str, bytes: &[u8]) -> Result<Vec<(u8, Value)>, FiscoError> {
    let mut reader = Reader {
        what,
        bytes,
        pos: 0,
    };
    let fields = reader.fields(0, false)?;
    Ok(fields)
}

struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], FiscoError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                err(
                    self.what,
                    format!(
                        "needs {n} bytes at offset {}, {} left",
                        self.pos,
                        self.bytes.len() - self.pos
                    ),
                )
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn head(&mut self) -> Result<(u8, u8), FiscoError> {
        let b = self.take(1)?[0];
        let ty = b & 0x0f;
        let mut tag = b >> 4;
        if tag == 15 {
            tag = self.take(1)?[0];
        }
        Ok((tag, ty))
    }

    fn fields(&mut self, depth: usize, nested: bool) -> Result<Vec<(u8, Value)>, FiscoError> {
        if depth > MAX_DEPTH {
            return Err(err(self.what, format!("nested deeper than {MAX_DEPTH}")));
        }
        let mut out = Vec::new();
        loop {
            if !nested && self.pos == self.bytes.len() {
                return Ok(out);
            }
            let (tag, ty) = self.head()?;
            if ty == T_STRUCT_END {
                if nested {
                    return Ok(out);
                }
                return Err(err(self.what, "struct end outside a struct"));
            }
            let value = self.value(ty, depth)?;
            out.push((tag, value));
        }
    }

    fn int_body(&mut self, ty: u8) -> Result<i64, FiscoError> {
        Ok(match ty {
            T_ZERO => 0,
            T_INT8 => i64::from(self.take(1)?[0] as i8),
            T_INT16 => {
                let b = self.take(2)?;
                i64::from(i16::from_be_bytes([b[0], b[1]]))
            }
            T_INT32 => {
                let b = self.take(4)?;
                i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            T_INT64 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(self.take(8)?);
                i64::from_be_bytes(a)
            }
            other => {
                return Err(err(
                    self.what,
                    format!("type {other} where an integer is due"),
                ));
            }
        })
    }

    fn length(&mut self) -> Result<usize, FiscoError> {
        let (tag, ty) = self.head()?;
        if tag != 0 {
            return Err(err(self.what, format!("a length has tag {tag}, not 0")));
        }
        let n = self.int_body(ty)?;
        let n = usize::try_from(n).map_err(|_| err(self.what, format!("negative length {n}")))?;
        // Every element takes at least one byte: a length beyond the input is a lie, refused
        // before anything is allocated for it.
        if n > self.bytes.len() - self.pos {
            return Err(err(
                self.what,
                format!(
                    "length {n} exceeds the {} bytes left",
                    self.bytes.len() - self.pos
                ),
            ));
        }
        Ok(n)
    }

    fn value(&mut self, ty: u8, depth: usize) -> Result<Value, FiscoError> {
        Ok(match ty {
            T_INT8 | T_INT16 | T_INT32 | T_INT64 | T_ZERO => Value::Int(self.int_body(ty)?),
            T_FLOAT => {
                let b = self.take(4)?;
                Value::Float(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            }
            T_DOUBLE => {
                let mut a = [0u8; 8];
                a.copy_from_slice(self.take(8)?);
                Value::Float(u64::from_be_bytes(a))
            }
            T_STRING1 => {
                let n = usize::from(self.take(1)?[0]);
                Value::Str(self.take(n)?.to_vec())
            }
            T_STRING4 => {
                let b = self.take(4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let n = usize::try_from(n).map_err(|_| err(self.what, "string too long"))?;
                Value::Str(self.take(n)?.to_vec())
            }
            T_SIMPLE_LIST => {
                let (_, elem) = self.head()?;
                if elem != T_INT8 {
                    return Err(err(
                        self.what,
                        format!("simple list of type {elem}, not bytes"),
                    ));
                }
                let n = self.length()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            T_LIST => {
                let n = self.length()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let (_, ty) = self.head()?;
                    if depth + 1 > MAX_DEPTH {
                        return Err(err(self.what, format!("nested deeper than {MAX_DEPTH}")));
                    }
                    items.push(self.value(ty, depth + 1)?);
                }
                Value::List(items)
            }
            T_STRUCT_BEGIN => Value::Struct(self.fields(depth + 1, true)?),
            T_MAP => {
                return Err(err(
                    self.what,
                    "maps are not part of a FISCO BCOS transaction",
                ));
            }
            other => return Err(err(self.what, format!("unknown type {other}"))),
        })
    }
}

/// A TARS writer: fields are appended in tag order by the caller.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn head(&mut self, tag: u8, ty: u8) {
        if tag < 15 {
            self.out.push((tag << 4) | ty);
        } else {
            self.out.push(0xf0 | ty);
            self.out.push(tag);
        }
    }

    /// An integer field in its smallest form (zero as type 12).
    pub fn int(&mut self, tag: u8, v: i64) {
        if v == 0 {
            self.head(tag, T_ZERO);
        } else if let Ok(b) = i8::try_from(v) {
            self.head(tag, T_INT8);
            self.out.push(b as u8);
        } else if let Ok(s) = i16::try_from(v) {
            self.head(tag, T_INT16);
            self.out.extend_from_slice(&s.to_be_bytes());
        } else if let Ok(i) = i32::try_from(v) {
            self.head(tag, T_INT32);
            self.out.extend_from_slice(&i.to_be_bytes());
        } else {
            self.head(tag, T_INT64);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }

    /// A string field.
    pub fn string(&mut self, tag: u8, s: &[u8]) {
        if let Ok(n) = u8::try_from(s.len()) {
            self.head(tag, T_STRING1);
            self.out.push(n);
        } else {
            self.head(tag, T_STRING4);
            let n = u32::try_from(s.len()).unwrap_or(u32::MAX);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
        self.out.extend_from_slice(s);
    }

    /// A `vector<byte>` field.
    pub fn bytes(&mut self, tag: u8, b: &[u8]) {
        self.head(tag, T_SIMPLE_LIST);
        self.head(0, T_INT8);
        self.int(0, i64::try_from(b.len()).unwrap_or(i64::MAX));
        self.out.extend_from_slice(b);
    }

    /// Opens a nested struct field; close it with [`Writer::struct_end`].
    pub fn struct_begin(&mut self, tag: u8) {
        self.head(tag, T_STRUCT_BEGIN);
    }

    /// Closes the innermost nested struct.
    pub fn struct_end(&mut self) {
        self.head(0, T_STRUCT_END);
    }
}

/// Field accessors over a decoded struct, with errors that name the field.
pub(crate) struct Fields<'a> {
    pub(crate) what: &'static str,
    pub(crate) fields: &'a [(u8, Value)],
}

impl<'a> Fields<'a> {
    fn get(&self, tag: u8) -> Option<&'a Value> {
        self.fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| v)
    }

    pub(crate) fn int(&self, tag: u8) -> Result<i64, FiscoError> {
        match self.get(tag) {
            None => Ok(0),
            Some(Value::Int(v)) => Ok(*v),
            Some(other) => Err(err(
                self.what,
                format!("field {tag} is {other:?}, not an integer"),
            )),
        }
    }

    pub(crate) fn string(&self, tag: u8) -> Result<String, FiscoError> {
        match self.get(tag) {
            None => Ok(String::new()),
            Some(Value::Str(s)) => String::from_utf8(s.clone())
                .map_err(|_| err(self.what, format!("field {tag} is not UTF-8"))),
            Some(_) => Err(err(self.what, format!("field {tag} is not a string"))),
        }
    }

    pub(crate) fn bytes(&self, tag: u8) -> Result<Vec<u8>, FiscoError> {
        match self.get(tag) {
            None => Ok(Vec::new()),
            Some(Value::Bytes(b)) => Ok(b.clone()),
            Some(Value::List(items)) if items.is_empty() => Ok(Vec::new()),
            Some(_) => Err(err(self.what, format!("field {tag} is not a byte vector"))),
        }
    }

    pub(crate) fn nested(&self, tag: u8, what: &'static str) -> Result<Fields<'a>, FiscoError> {
        match self.get(tag) {
            Some(Value::Struct(fields)) => Ok(Fields { what, fields }),
            _ => Err(err(
                self.what,
                format!("field {tag} ({what}) is missing or not a struct"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree() {
        let mut w = Writer::new();
        w.struct_begin(1);
        w.int(1, 0);
        w.string(2, b"chain0");
        w.int(4, 507);
        w.int(5, -70000);
        w.int(6, 1 << 40);
        w.bytes(7, &[1, 2, 3]);
        w.string(8, &vec![b'a'; 300]);
        w.struct_end();
        w.bytes(20, &[9; 32]);
        let bytes = w.into_bytes();
        let fields = decode_fields("test", &bytes).expect("decodes");
        let top = Fields {
            what: "test",
            fields: &fields,
        };
        let inner = top.nested(1, "data").expect("struct");
        assert_eq!(inner.int(1), Ok(0));
        assert_eq!(inner.string(2).as_deref(), Ok("chain0"));
        assert_eq!(inner.int(4), Ok(507));
        assert_eq!(inner.int(5), Ok(-70000));
        assert_eq!(inner.int(6), Ok(1 << 40));
        assert_eq!(inner.bytes(7), Ok(vec![1, 2, 3]));
        assert_eq!(inner.string(8).map(|s| s.len()), Ok(300));
        assert_eq!(top.bytes(20), Ok(vec![9; 32]));
    }

    #[test]
    fn truncated_and_lying_inputs_are_refused() {
        let mut w = Writer::new();
        w.bytes(2, &[0u8; 32]);
        let bytes = w.into_bytes();
        for cut in 0..bytes.len() {
            if cut == 0 {
                continue;
            }
            assert!(
                decode_fields("test", &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // A length of 2^31 with a few bytes behind it.
        let lying = [0x2d, 0x00, 0x02, 0x7f, 0xff, 0xff, 0xff, 0x00];
        assert!(decode_fields("test", &lying).is_err());
        // Nesting beyond the bound.
        let deep = vec![0x1a; MAX_DEPTH + 2];
        assert!(decode_fields("test", &deep).is_err());
    }
}
