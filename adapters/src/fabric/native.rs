//! The adapter side of Fabric's native proofs: [`FabricNativeVerifier`] (whose checks are
//! `causeway_proofs::fabric`'s, offline) as the relayer's [`NativeVerifier`], and the MSP root
//! certificates a verifier trusts, read from files.

use std::time::SystemTime;

use causeway_proofs::bundle::ChainFamily;

use crate::Error;
use crate::chain::{NativeVerifier, ObservedMessage};
use crate::fabric::{FabricNativeVerifier, MspRoots};

// The largest block a proof may carry is the largest message the client reads, so that every
// block the source can read can also be proven.
const _: () = assert!(
    causeway_proofs::fabric::MAX_PROOF_BLOCK_LEN == crate::fabric::client::DEFAULT_MAX_MESSAGE_LEN
);

impl NativeVerifier for FabricNativeVerifier {
    fn family(&self) -> ChainFamily {
        ChainFamily::Fabric
    }

    fn verify(&self, observed: &ObservedMessage) -> Result<(), Error> {
        self.check_at(
            &observed.message,
            &observed.source,
            &observed.proof,
            SystemTime::now(),
        )
        .map_err(Error::from)
    }
}

/// The root CA certificates of `mspid` from PEM (or DER) files, as a Fabric chain's verifier
/// section lists them (`root_cert_files`): an unreadable file, a certificate that is not a
/// self-signed P-256 CA, or no file at all is an [`Error::Config`] naming the file or the MSP.
pub fn msp_roots_from_files<P: AsRef<std::path::Path>>(
    mspid: &str,
    files: &[P],
) -> Result<MspRoots, Error> {
    let certificates = files
        .iter()
        .map(|path| {
            std::fs::read(path.as_ref()).map_err(|e| Error::Config {
                reason: format!(
                    "cannot read root certificate {} of {mspid}: {e}",
                    path.as_ref().display()
                ),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    MspRoots::new(mspid, &certificates).map_err(|e| Error::Config {
        reason: format!("root certificates of {mspid}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::SystemTime;

    use causeway_proofs::Hash32;
    use causeway_proofs::bundle::{ChainFamily, SourceReference};
    use causeway_proofs::fabric::testkit::{DOMAIN, Net, block, message};

    use super::msp_roots_from_files;
    use crate::chain::{NativeVerifier, ObservedMessage};
    use crate::fabric::{FabricNativeVerifier, FabricSourceProof, TrustedMsps};

    #[test]
    fn the_verifier_checks_an_observed_message_for_the_relayer() {
        let net = Net::new();
        let spec = net.dispatch(7);
        let id = spec.id();
        let block = block(0, None, &[spec], &net.orderer);
        let observed = ObservedMessage {
            message: message(7),
            source: SourceReference {
                block_number: Some(block.number()),
                block_hash: Some(Hash32(block.header_hash().0)),
                transaction_hash: None,
                fabric_tx_id: Some(id),
                event_index: Some(0),
            },
            proof: FabricSourceProof {
                block: block.clone(),
                tx_index: 0,
            }
            .to_native_proof(),
        };
        let json = serde_json::to_string(&observed).unwrap();
        let back: ObservedMessage = serde_json::from_str(&json).unwrap();
        let verifier = FabricNativeVerifier::new(DOMAIN, net.config()).unwrap();
        verifier.verify(&back).unwrap();
        assert_eq!(verifier.family(), ChainFamily::Fabric);
        let mut other = back;
        other.message = message(8);
        let err = verifier.verify(&other).unwrap_err();
        assert!(err.to_string().contains("not the observed"), "{err}");
    }

    #[test]
    fn roots_load_from_files_and_name_what_is_wrong() {
        let net = Net::new();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, net.org1.ca_pem()).unwrap();
        let roots = msp_roots_from_files("Org1MSP", &[&ca]).unwrap();
        assert_eq!(roots.mspid(), "Org1MSP");
        // The roots loaded from the file validate the org's identities.
        let trusted = TrustedMsps::new([roots]);
        trusted
            .validate(net.client.identity(), SystemTime::now())
            .unwrap();

        let missing = dir.path().join("missing.pem");
        let err = msp_roots_from_files("Org1MSP", &[&missing]).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = msp_roots_from_files("Org1MSP", &[&garbage]).unwrap_err();
        assert!(
            err.to_string().contains("root certificates of Org1MSP"),
            "{err}"
        );
        let none: [&std::path::Path; 0] = [];
        let err = msp_roots_from_files("Org1MSP", &none).unwrap_err();
        assert!(err.to_string().contains("no root certificate"), "{err}");
    }
}
