//! A deliberately naive, test-only SM2 over any short-Weierstrass prime curve
//! y² = x³ + ax + b (mod p), in affine coordinates over `num-bigint`, written straight from
//! GB/T 32918.1 (point addition, clause 3.2.3.1) and GB/T 32918.2 (Z, signing, verification).
//!
//! It exists to check the draft-shen-sm2-ecdsa-02 example, whose 256-bit TEST curve the `sm2`
//! crate cannot do. Being slow, variable-time and unvalidated it is never used on secrets; the
//! tests validate it by making it reproduce the GB/T 32918.5 Annex A values and agree with the
//! production code on sm2p256v1.

use causeway_proofs::HashAlgorithm;
use num_bigint::BigUint;
use serde_json::Value;

/// An affine point; `None` is the point at infinity.
pub(super) type Point = Option<(BigUint, BigUint)>;

/// A prime curve with a base point G of prime order n.
pub(super) struct RefCurve {
    p: BigUint,
    a: BigUint,
    b: BigUint,
    n: BigUint,
    g: Point,
}

/// Parses a hex integer with or without `0x`.
pub(super) fn big(hex: &str) -> BigUint {
    BigUint::parse_bytes(hex.trim_start_matches("0x").as_bytes(), 16)
        .unwrap_or_else(|| panic!("not hex: {hex}"))
}

/// The 32-byte big-endian encoding of a value below 2^256.
pub(super) fn be32(v: &BigUint) -> [u8; 32] {
    let bytes = v.to_bytes_be();
    assert!(bytes.len() <= 32, "value wider than 256 bits");
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

impl RefCurve {
    /// The curve of a `curve` object of sm2_signature_vectors.json (hex p, a, b, gx, gy, n).
    pub(super) fn from_json(curve: &Value) -> Self {
        let field = |name: &str| big(curve[name].as_str().unwrap());
        let c = RefCurve {
            p: field("p"),
            a: field("a"),
            b: field("b"),
            n: field("n"),
            g: Some((field("gx"), field("gy"))),
        };
        assert!(c.is_on_curve(&c.g), "G is on the curve");
        assert_eq!(c.mul(&c.n, &c.g), None, "nG = O");
        c
    }

    pub(super) fn generator(&self) -> &Point {
        &self.g
    }

    pub(super) fn order(&self) -> &BigUint {
        &self.n
    }

    fn sub_p(&self, x: &BigUint, y: &BigUint) -> BigUint {
        (x + &self.p - (y % &self.p)) % &self.p
    }

    fn inv_p(&self, x: &BigUint) -> BigUint {
        x.modinv(&self.p)
            .expect("non-zero elements of a prime field are invertible")
    }

    pub(super) fn is_on_curve(&self, pt: &Point) -> bool {
        match pt {
            None => true,
            Some((x, y)) => {
                x < &self.p
                    && y < &self.p
                    && (y * y) % &self.p == (x * x * x + &self.a * x + &self.b) % &self.p
            }
        }
    }

    /// P1 + P2 (GB/T 32918.1 clause 3.2.3.1, with doubling and inverse points).
    pub(super) fn add(&self, p1: &Point, p2: &Point) -> Point {
        let (Some((x1, y1)), Some((x2, y2))) = (p1, p2) else {
            return p1.clone().or_else(|| p2.clone());
        };
        let lambda = if x1 == x2 {
            if (y1 + y2) % &self.p == BigUint::ZERO {
                return None;
            }
            // λ = (3x1² + a) / (2y1)
            (BigUint::from(3u8) * x1 * x1 + &self.a) * self.inv_p(&(BigUint::from(2u8) * y1))
                % &self.p
        } else {
            // λ = (y2 - y1) / (x2 - x1)
            self.sub_p(y2, y1) * self.inv_p(&self.sub_p(x2, x1)) % &self.p
        };
        let x3 = self.sub_p(&self.sub_p(&(&lambda * &lambda), x1), x2);
        let y3 = self.sub_p(&(lambda * self.sub_p(x1, &x3)), y1);
        Some((x3, y3))
    }

    /// [k]P by double-and-add from the most significant bit.
    pub(super) fn mul(&self, k: &BigUint, pt: &Point) -> Point {
        let mut acc: Point = None;
        for i in (0..k.bits()).rev() {
            acc = self.add(&acc, &acc);
            if k.bit(i) {
                acc = self.add(&acc, pt);
            }
        }
        acc
    }

    /// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py), GB/T 32918.2 clause 5.5.
    pub(super) fn za(&self, user_id: &[u8], public: &Point) -> [u8; 32] {
        let (gx, gy) = self.g.as_ref().unwrap();
        let (px, py) = public.as_ref().expect("a public key is not the identity");
        let entl = u16::try_from(user_id.len() * 8).unwrap();
        let mut input = entl.to_be_bytes().to_vec();
        input.extend_from_slice(user_id);
        for v in [&self.a, &self.b, gx, gy, px, py] {
            input.extend_from_slice(&be32(v));
        }
        HashAlgorithm::Sm3.digest(&input).0
    }

    /// e = SM3(Z_A ‖ M).
    pub(super) fn message_digest(&self, user_id: &[u8], public: &Point, msg: &[u8]) -> [u8; 32] {
        let mut input = self.za(user_id, public).to_vec();
        input.extend_from_slice(msg);
        HashAlgorithm::Sm3.digest(&input).0
    }

    /// Steps A4–A6 of GB/T 32918.2 clause 6.1 with the given nonce k.
    pub(super) fn sign(&self, d: &BigUint, e: &[u8; 32], k: &BigUint) -> (BigUint, BigUint) {
        let (x1, _) = self.mul(k, &self.g).unwrap();
        let r = (BigUint::from_bytes_be(e) + x1) % &self.n;
        assert!(
            r != BigUint::ZERO && &r + k != self.n,
            "step A5 rejects this k"
        );
        let inv = (d + 1u8).modinv(&self.n).unwrap();
        // k - r·d mod n
        let rd = (&r * d) % &self.n;
        let s = inv * ((k + &self.n - rd) % &self.n) % &self.n;
        assert!(s != BigUint::ZERO, "step A6 rejects this k");
        (r, s)
    }

    /// Steps B1–B7 of GB/T 32918.2 clause 7.1.
    pub(super) fn verify(&self, public: &Point, e: &[u8; 32], r: &BigUint, s: &BigUint) -> bool {
        let in_range = |v: &BigUint| v > &BigUint::ZERO && v < &self.n;
        if !in_range(r) || !in_range(s) {
            return false;
        }
        let t = (r + s) % &self.n;
        if t == BigUint::ZERO {
            return false;
        }
        match self.add(&self.mul(s, &self.g), &self.mul(&t, public)) {
            None => false,
            Some((x1, _)) => (BigUint::from_bytes_be(e) + x1) % &self.n == *r,
        }
    }
}
