//! `verifier.consenters`: the ordering nodes of a Fabric channel whose signatures count toward
//! a block's quorum (`orderer_signatures`), as the channel configuration lists its consenters.
//! Without them any orderer certificate of the `orderers` MSPs counts (each public key once),
//! which is enough for Raft's one signature. A BFT quorum (more than one signature) needs the
//! list, since one orderer CA can issue one node any number of keys, and is only as good as
//! the list it is counted from, so the list is checked: every consenter belongs to an orderer MSP, has its
//! certificate file, and is listed once (by public key, so the same key in a renewed
//! certificate is the same consenter), and there are at least as many consenters as
//! signatures required (else no block could ever verify). Files that cannot be read or hold
//! no PEM certificate are left to the checks that load them.

use std::collections::BTreeMap;

use super::super::ChainCheck;
use super::roots::{pem_certificates, subject_public_key_info};
use crate::error::Rule;
use crate::model::FabricConsenter;
use crate::raw::RawFabricVerifier;
use crate::validate::Source;
use crate::validate::files::{located, public_file};

/// How to write the consenters, for fixes.
const CONSENTERS_FIX: &str = "list the channel's ordering nodes as consenters = [{ msp_id = \"OrdererMSP\", cert_file = \"msp/orderer/orderer0.pem\" }, …] (each node's signing certificate, once)";

impl ChainCheck<'_, '_, '_> {
    /// The consenters of `raw` (see the module docs); `orderer_signatures` is the validated
    /// count, when it is valid.
    pub(super) fn consenters(
        &mut self,
        raw: &RawFabricVerifier,
        orderer_signatures: Option<u32>,
    ) -> Option<Vec<FabricConsenter>> {
        let mut ok = true;
        let mut out = Vec::with_capacity(raw.consenters.len());
        // Public key -> the index of the consenter it was first seen in.
        let mut seen: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        for (i, entry) in raw.consenters.iter().enumerate() {
            let entry = entry.get_ref();
            let id = entry.msp_id.get_ref();
            if !raw
                .orderers
                .iter()
                .any(|o| o.get_ref().msp_id.get_ref() == id)
            {
                self.report(
                    &format!("verifier.consenters[{i}].msp_id"),
                    &Source::File(entry.msp_id.span()),
                    Rule::InvalidValue,
                    format!(
                        "consenter {i} belongs to {id}, which is not one of verifier.orderers: its certificate could never be validated"
                    ),
                    format!(
                        "write the ordering organisation's MSP id, or add {{ msp_id = \"{id}\", root_cert_files = [\"…/cacerts/ca.pem\"] }} to verifier.orderers"
                    ),
                );
                ok = false;
            }
            let file = located(self.ctx, &entry.cert_file);
            let key = self.key(&format!("verifier.consenters[{i}].cert_file"));
            let readable = public_file(self.ctx, &key, &file);
            ok &= readable;
            // Read only a regular file (not a FIFO or /dev/zero), and at most a bounded amount.
            if let Some(text) = readable.then(|| read_bounded(&file.path)).flatten() {
                let certificates = pem_certificates(&text);
                if certificates.len() > 1 {
                    self.report(
                        &format!("verifier.consenters[{i}].cert_file"),
                        &Source::File(entry.cert_file.span()),
                        Rule::InvalidValue,
                        format!(
                            "{} holds {} certificates where a consenter has one",
                            file.path.display(),
                            certificates.len()
                        ),
                        CONSENTERS_FIX,
                    );
                    ok = false;
                }
                for der in certificates {
                    let public_key =
                        subject_public_key_info(&der).map_or(der.clone(), <[u8]>::to_vec);
                    if let Some(first) = seen.get(&public_key) {
                        self.report(
                            &format!("verifier.consenters[{i}].cert_file"),
                            &Source::File(entry.cert_file.span()),
                            Rule::DuplicateConsenter,
                            format!(
                                "{} has the same public key as consenter {first}: one orderer would count twice toward orderer_signatures",
                                file.path.display()
                            ),
                            "list each consenter once (a renewed certificate with the same key is the same consenter)",
                        );
                        ok = false;
                    } else {
                        seen.insert(public_key, i);
                    }
                }
            }
            out.push(FabricConsenter {
                msp_id: id.clone(),
                cert_file: file.path,
            });
        }
        // Where `orderer_signatures` is written (or its table, when it is left at 1).
        let signatures_source = raw
            .orderer_signatures
            .as_ref()
            .map_or_else(|| self.table.clone(), |n| Source::File(n.span()));
        if let (Some(required @ 2..), true) = (orderer_signatures, raw.consenters.is_empty()) {
            // Without consenters any certificate of the orderer CA counts, and that CA can issue
            // one orderer as many certificates (keys) as the quorum needs: a BFT quorum must be
            // counted from the channel's consenters.
            self.report(
                "verifier.orderer_signatures",
                &signatures_source,
                Rule::InvalidValue,
                format!(
                    "{required} orderer signatures are required but no consenters are listed: any certificate the orderer CA issues would count, so one orderer holding {required} certificates could meet the quorum alone"
                ),
                CONSENTERS_FIX,
            );
            ok = false;
        }
        if let (Some(required), false) = (orderer_signatures, raw.consenters.is_empty()) {
            let named = raw.consenters.len();
            if usize::try_from(required).is_ok_and(|r| r > named) {
                self.report(
                    "verifier.orderer_signatures",
                    &signatures_source,
                    Rule::InvalidValue,
                    format!(
                        "{required} orderer signatures are required but only {named} consenters are listed: no block could ever verify"
                    ),
                    format!(
                        "list every consenter of the channel, or write orderer_signatures = {named} or less (the BFT quorum of the consenters)"
                    ),
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }
}

/// Largest consenter certificate file read, in bytes: a PEM certificate is a few KiB.
const MAX_CERT_FILE_LEN: u64 = 1024 * 1024;

/// The file's text, or `None` when it cannot be read, is not UTF-8 or exceeds
/// [`MAX_CERT_FILE_LEN`] (reported by the certificate checks that follow as "no certificate").
fn read_bounded(path: &std::path::Path) -> Option<String> {
    use std::io::Read as _;
    let mut text = String::new();
    crate::keyfile::open_regular_file(path)
        .ok()?
        .take(MAX_CERT_FILE_LEN + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= MAX_CERT_FILE_LEN).then_some(text)
}
