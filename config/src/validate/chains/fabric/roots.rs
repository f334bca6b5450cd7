//! Trust roots that overlap between MSPs of one verifier. Fabric's MSP validation accepts an
//! identity under the MSP id it claims when its certificate chains to one of that MSP's roots,
//! so a root CA (or a root key, re-issued in another certificate) configured under two MSP ids
//! lets every identity it issued count as either organisation: one organisation's peers would
//! satisfy a policy's `AND(Org1MSP, Org2MSP)` alone. Likewise an MSP listed both as an
//! endorsing organisation and as an orderer would let its peers sign blocks and its orderers
//! endorse. Both are refused.
//!
//! Certificates are compared by their SubjectPublicKeyInfo (the same key under two
//! certificates is the same root), or by their whole DER when it does not parse as an X.509
//! certificate. Files that cannot be read or hold no PEM certificate are left to the checks
//! that load them.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::super::ChainCheck;
use crate::error::Rule;
use crate::raw::{RawFabricMsp, RawFabricVerifier, S};
use crate::validate::Source;
use crate::validate::files::located;

/// Where a root was first seen: its MSP id and its key in the file.
struct Seen {
    msp_id: String,
    key: String,
}

impl ChainCheck<'_, '_, '_> {
    /// Reports an MSP that is both an organisation and an orderer, and a root certificate
    /// (by public key) under two MSP ids. Returns whether none was found.
    pub(super) fn distinct_roots(&mut self, raw: &RawFabricVerifier) -> bool {
        let mut ok = true;
        for (i, orderer) in raw.orderers.iter().enumerate() {
            let id = orderer.get_ref().msp_id.get_ref();
            let Some(k) = raw
                .orgs
                .iter()
                .position(|o| o.get_ref().msp_id.get_ref() == id)
            else {
                continue;
            };
            self.report(
                &format!("verifier.orderers[{i}].msp_id"),
                &Source::File(orderer.get_ref().msp_id.span()),
                Rule::OverlappingTrustRoots,
                format!(
                    "{id} is both an endorsing organisation (verifier.orgs[{k}]) and an orderer: its peers could sign blocks and its orderers endorse transactions"
                ),
                format!(
                    "give the ordering service its own MSP (e.g. OrdererMSP with the orderer CA's root certificate) and list {id} in verifier.orgs or verifier.orderers, not both"
                ),
            );
            ok = false;
        }
        let mut seen: BTreeMap<Vec<u8>, Seen> = BTreeMap::new();
        for (list, entries) in [
            ("verifier.orgs", &raw.orgs),
            ("verifier.orderers", &raw.orderers),
        ] {
            for (i, entry) in entries.iter().enumerate() {
                ok &= self.distinct_msp_roots(list, i, entry, &mut seen);
            }
        }
        ok
    }

    fn distinct_msp_roots(
        &mut self,
        list: &str,
        i: usize,
        entry: &S<RawFabricMsp>,
        seen: &mut BTreeMap<Vec<u8>, Seen>,
    ) -> bool {
        let entry = entry.get_ref();
        let id = entry.msp_id.get_ref();
        let mut ok = true;
        for (j, file) in entry.root_cert_files.iter().enumerate() {
            let key = format!("{list}[{i}].root_cert_files[{j}]");
            let path = located(self.ctx, file).path;
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for der in pem_certificates(&text) {
                let identity = subject_public_key_info(&der).map_or(der.clone(), <[u8]>::to_vec);
                match seen.get(&identity) {
                    Some(first) if first.msp_id != *id => {
                        self.report(
                            &key,
                            &Source::File(file.span()),
                            Rule::OverlappingTrustRoots,
                            format!(
                                "{} holds a root certificate with the same public key as a root of {} ({}): an identity that CA issued would count as both {id} and {}",
                                path.display(),
                                first.msp_id,
                                self.key(&first.key),
                                first.msp_id
                            ),
                            format!(
                                "give each MSP its own root CA: remove this file from {id}, or the other one from {}",
                                first.msp_id
                            ),
                        );
                        ok = false;
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(
                            identity,
                            Seen {
                                msp_id: id.clone(),
                                key: key.clone(),
                            },
                        );
                    }
                }
            }
        }
        ok
    }
}

/// The DER of every `CERTIFICATE` PEM block of `text` that decodes.
pub(super) fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = body.find(END) else {
            break;
        };
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &body[end + END.len()..];
    }
    out
}

/// One DER element of `input`: (tag, the whole element, the bytes after it). Single-byte tags
/// and definite lengths only, as DER requires.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, after_len) = after_tag.split_first()?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || after_len.len() < n {
            return None;
        }
        let len = after_len[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    if input.len() < total {
        return None;
    }
    Some((tag, &input[..total], &input[total..]))
}

/// The contents of a DER element (after its tag and length).
fn contents(element: &[u8]) -> &[u8] {
    let header = if element[1] < 0x80 {
        2
    } else {
        2 + usize::from(element[1] & 0x7f)
    };
    &element[header..]
}

/// The `subjectPublicKeyInfo` element of an X.509 certificate (RFC 5280 §4.1): the seventh
/// field of `tbsCertificate`, counting the optional `[0] version` as the first.
pub(super) fn subject_public_key_info(der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    let (tag, certificate, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(contents(certificate))?;
    if tag != SEQUENCE {
        return None;
    }
    let mut fields = contents(tbs);
    let (tag, _, after) = element(fields)?;
    if tag == 0xa0 {
        fields = after; // version
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        fields = element(fields)?.2;
    }
    let (tag, spki, _) = element(fields)?;
    (tag == SEQUENCE).then_some(spki)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 certificate made with `openssl req -x509` for the tests (the
    /// integration tests' `ROOT_A`).
    const CERT: &str = include_str!("../../../../testdata/root-a.pem");

    #[test]
    fn the_public_key_is_found_in_a_real_certificate() {
        let ders = pem_certificates(CERT);
        assert_eq!(ders.len(), 1);
        let spki = subject_public_key_info(&ders[0]).expect("an X.509 certificate");
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0x00 0x04 x y) }: 91
        // bytes, ending in the 65-byte uncompressed point.
        assert_eq!(spki.len(), 91);
        assert_eq!(&spki[..2], &[0x30, 89]);
        assert_eq!(spki[26], 0x04);
        assert!(subject_public_key_info(&ders[0][..ders[0].len() - 1]).is_none());
        assert!(subject_public_key_info(b"dummy").is_none());
        assert!(
            pem_certificates("-----BEGIN CERTIFICATE-----\ndummy\n-----END CERTIFICATE-----")
                .is_empty()
        );
    }
}
