//! The organisations of the test network, generated at start-up in Fabric's `cryptogen`
//! layout under the network's temporary directory:
//! `peerOrganizations/<domain>/{msp, users/User1@<domain>/msp, users/Admin@<domain>/msp,
//! peers/peer0.<domain>/msp}` (and `ordererOrganizations/example.com/orderers/...` for the
//! orderer). Each MSP folder holds `signcerts/cert.pem`, `keystore/key_sk`, `cacerts/ca.pem`
//! and `tlscacerts/tlsca.pem`. Certificates carry Fabric's NodeOU roles in their subject, as
//! `cryptogen` with `EnableNodeOUs` issues them: `OU=peer` for peers, `OU=orderer` for the
//! orderer, `OU=client` for users and `OU=admin` for admins; only peers' endorsements count.

use std::path::{Path, PathBuf};

use causeway_adapters::fabric::{MspFolder, MspRoots, SigningIdentity};

use super::pki::{Ca, current_validity, expired_validity, write_msp};
use crate::Result;

/// The MSP id of the first peer organisation.
pub const ORG1: &str = "Org1MSP";
/// The MSP id of the second peer organisation.
pub const ORG2: &str = "Org2MSP";
/// The MSP id of an organisation outside the channel (its endorsements never count).
pub const ORG3: &str = "Org3MSP";
/// The MSP id of the ordering service, whose identity signs blocks.
pub const ORDERER: &str = "OrdererMSP";

/// What an organisation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrgKind {
    /// Peers (endorsers) and clients.
    Peer,
    /// The ordering service.
    Orderer,
}

/// What kind of certificate [`super::FabricNetwork::issue_identity`] gives an identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityKind {
    /// Issued by the organisation's CA, valid now.
    Valid,
    /// Issued by the organisation's CA, but expired a year ago.
    Expired,
    /// Claims the organisation's MSP id but is issued by a CA outside the organisation.
    OtherCa,
}

/// One organisation: its CA, MSP folders and identities.
#[derive(Debug)]
pub struct Org {
    mspid: String,
    domain: String,
    kind: OrgKind,
    ca: Ca,
    /// A CA that is not the organisation's, for [`IdentityKind::OtherCa`].
    rogue_ca: Ca,
    base: PathBuf,
    user: SigningIdentity,
    admin: SigningIdentity,
    node: SigningIdentity,
}

impl Org {
    /// Generates the organisation's CA, identities and MSP folders under `root`.
    pub(crate) fn generate(
        mspid: &str,
        domain: &str,
        kind: OrgKind,
        root: &Path,
        tls_ca_pem: &[u8],
    ) -> Result<Self> {
        let ca = Ca::new(&format!("ca.{domain}"), domain)?;
        let rogue_ca = Ca::new(&format!("ca.{domain}"), domain)?;
        let base = match kind {
            OrgKind::Peer => root.join("peerOrganizations").join(domain),
            OrgKind::Orderer => root.join("ordererOrganizations").join(domain),
        };
        write_msp(&base.join("msp"), None, ca.pem(), tls_ca_pem)?;
        let make = |cn: &str, ou: &str, folder: PathBuf| -> Result<SigningIdentity> {
            let (signer, key, pem) =
                ca.issue_identity(mspid, cn, ou, domain, current_validity()?)?;
            write_msp(&folder, Some((&pem, &key)), ca.pem(), tls_ca_pem)?;
            Ok(signer)
        };
        let user = make(
            &format!("User1@{domain}"),
            "client",
            base.join("users")
                .join(format!("User1@{domain}"))
                .join("msp"),
        )?;
        let admin = make(
            &format!("Admin@{domain}"),
            "admin",
            base.join("users")
                .join(format!("Admin@{domain}"))
                .join("msp"),
        )?;
        let node = match kind {
            OrgKind::Peer => make(
                &format!("peer0.{domain}"),
                "peer",
                base.join("peers")
                    .join(format!("peer0.{domain}"))
                    .join("msp"),
            )?,
            OrgKind::Orderer => make(
                &format!("orderer.{domain}"),
                "orderer",
                base.join("orderers")
                    .join(format!("orderer.{domain}"))
                    .join("msp"),
            )?,
        };
        Ok(Self {
            mspid: mspid.to_owned(),
            domain: domain.to_owned(),
            kind,
            ca,
            rogue_ca,
            base,
            user,
            admin,
            node,
        })
    }

    /// The MSP id.
    pub fn mspid(&self) -> &str {
        &self.mspid
    }

    /// The organisation's domain, e.g. `org1.example.com`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The MSP folder of the organisation's user `User1` (what a client application loads).
    pub fn msp_folder(&self) -> MspFolder {
        MspFolder::new(
            self.base
                .join("users")
                .join(format!("User1@{}", self.domain))
                .join("msp"),
            &self.mspid,
        )
    }

    /// The MSP folder of the organisation's admin.
    pub fn admin_msp_folder(&self) -> MspFolder {
        MspFolder::new(
            self.base
                .join("users")
                .join(format!("Admin@{}", self.domain))
                .join("msp"),
            &self.mspid,
        )
    }

    /// The organisation-level MSP folder (`cacerts/`, `tlscacerts/`; no signing identity):
    /// what a verifier configures as the organisation's roots.
    pub fn org_msp_folder(&self) -> MspFolder {
        MspFolder::new(self.base.join("msp"), &self.mspid)
    }

    /// The MSP folder of the organisation's node (`peer0` or `orderer`).
    pub fn node_msp_folder(&self) -> MspFolder {
        let path = match self.kind {
            OrgKind::Peer => self
                .base
                .join("peers")
                .join(format!("peer0.{}", self.domain)),
            OrgKind::Orderer => self
                .base
                .join("orderers")
                .join(format!("orderer.{}", self.domain)),
        };
        MspFolder::new(path.join("msp"), &self.mspid)
    }

    /// The root CA certificate, PEM.
    pub fn ca_pem(&self) -> &[u8] {
        self.ca.pem()
    }

    /// The organisation's roots, for [`causeway_adapters::fabric::TrustedMsps`].
    pub fn roots(&self) -> MspRoots {
        MspRoots::new(&self.mspid, &[self.ca.pem()])
            .expect("the generated CA is a self-signed P-256 CA certificate")
    }

    /// The user identity `User1`.
    pub fn user(&self) -> &SigningIdentity {
        &self.user
    }

    /// The admin identity.
    pub fn admin(&self) -> &SigningIdentity {
        &self.admin
    }

    /// The node identity: the peer that endorses, or the orderer that signs blocks.
    pub fn node(&self) -> &SigningIdentity {
        &self.node
    }

    /// A new identity of this organisation with the given kind of certificate: a peer's
    /// (NodeOU `peer`) when `cn` names a peer (`peer0.…`), a client's otherwise.
    pub(crate) fn issue(&self, cn: &str, kind: IdentityKind) -> Result<SigningIdentity> {
        let (ca, validity) = match kind {
            IdentityKind::Valid => (&self.ca, current_validity()?),
            IdentityKind::Expired => (&self.ca, expired_validity()?),
            IdentityKind::OtherCa => (&self.rogue_ca, current_validity()?),
        };
        let ou = if cn.starts_with("peer") {
            "peer"
        } else {
            "client"
        };
        ca.issue_identity(&self.mspid, cn, ou, &self.domain, validity)
            .map(|(signer, _, _)| signer)
    }
}
