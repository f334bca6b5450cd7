//! Fabric chain settings: the channel's configured chain id (Fabric has none of its own; it
//! names the channel in checkpoint signing domains, so it is required, non-zero and unique
//! among Fabric chains), channel, outbox and inbox chaincodes, identity, and the verifier
//! section (`[chains.<name>.verifier]`) that every Fabric chain must have: the endorsing
//! organisations' and the orderers' MSP root certificates and the endorsement policy, and
//! optionally the channel's consenters a BFT quorum is counted from (see [`consenters`]). A
//! chain without it is refused, since nothing it reads could be verified (fail closed), and so
//! is one whose MSPs share a root (see [`roots`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::ChainCheck;
use crate::error::Rule;
use crate::model::{FabricChain, FabricClientTls, FabricMsp, FabricPolicy, FabricVerifier};
use crate::raw::{RawChain, RawFabricMsp, RawFabricVerifier, RawFamily, S};
use crate::validate::Source;
use crate::validate::files::{located, public_file, secret_file};

mod consenters;
mod roots;

/// The verifier section as it should look, for fixes.
const VERIFIER_EXAMPLE: &str = "add a [chains.<name>.verifier] table with orgs = [{ msp_id = \"Org1MSP\", root_cert_files = [\"msp/org1/cacerts/ca.pem\"] }, …], orderers = [{ msp_id = \"OrdererMSP\", root_cert_files = [\"msp/orderer/cacerts/ca.pem\"] }] and endorsement_policy = \"AND(Org1MSP,Org2MSP)\"";

const POLICY_FIX: &str = "write endorsement_policy = \"AND(Org1MSP,Org2MSP)\", \"OR(Org1MSP,Org2MSP)\", \"OutOf(2,Org1MSP,Org2MSP,Org3MSP)\", \"MAJORITY\" (of the configured orgs) or \"MAJORITY(Org1MSP,Org2MSP,Org3MSP)\"";

/// Why a policy text was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PolicyError(pub(crate) String);

/// Parses an endorsement policy: `AND(…)`, `OR(…)`, `OutOf(n, …)`, `MAJORITY` (of
/// `configured`) or `MAJORITY(…)`, keywords in any case, MSP ids bare or single-quoted. Roles
/// (`'Org1MSP.peer'`) and nested policies are refused: endorsements are counted per
/// organisation, so a role the configuration names would not be checked.
pub(crate) fn parse_policy(text: &str, configured: &[String]) -> Result<FabricPolicy, PolicyError> {
    let text = text.trim();
    let err = |m: String| Err(PolicyError(m));
    let (keyword, args) = match text.split_once('(') {
        None => (text, None),
        Some((keyword, rest)) => {
            let Some(inner) = rest.trim_end().strip_suffix(')') else {
                return err(format!("`{text}` lacks its closing parenthesis"));
            };
            if inner.contains('(') || inner.contains(')') {
                return err(format!("`{text}` nests policies, which is not supported"));
            }
            (keyword.trim(), Some(inner))
        }
    };
    let keyword = keyword.to_ascii_uppercase();
    let items: Vec<String> = match args {
        None => Vec::new(),
        Some(inner) => inner
            .split(',')
            .map(|s| s.trim().trim_matches('\'').trim_matches('"').to_owned())
            .collect(),
    };
    let msps = |items: &[String]| -> Result<Vec<String>, PolicyError> {
        let mut seen = BTreeSet::new();
        for item in items {
            if item.is_empty() {
                return Err(PolicyError(format!("`{text}` has an empty organisation")));
            }
            if item.contains('.') {
                return Err(PolicyError(format!(
                    "`{item}` names a role: endorsements are counted per organisation and roles are not checked, so write the MSP id alone"
                )));
            }
            if item.contains(char::is_whitespace) {
                return Err(PolicyError(format!("`{item}` is not an MSP id")));
            }
            if !seen.insert(item.as_str()) {
                return Err(PolicyError(format!("`{text}` names {item} twice")));
            }
        }
        if items.is_empty() {
            return Err(PolicyError(format!("`{text}` names no organisation")));
        }
        Ok(items.to_vec())
    };
    let policy = match (keyword.as_str(), args) {
        ("AND", Some(_)) => FabricPolicy::AllOf(msps(&items)?),
        ("OR", Some(_)) => FabricPolicy::OutOf {
            n: 1,
            msps: msps(&items)?,
        },
        ("OUTOF", Some(_)) => {
            let Some((n, rest)) = items.split_first() else {
                return err(format!("`{text}` names no count"));
            };
            let Ok(n) = n.parse::<usize>() else {
                return err(format!("`{n}` in `{text}` is not a count of organisations"));
            };
            FabricPolicy::OutOf {
                n,
                msps: msps(rest)?,
            }
        }
        ("MAJORITY", Some(_)) => FabricPolicy::Majority(msps(&items)?),
        ("MAJORITY", None) => FabricPolicy::Majority(msps(configured)?),
        _ => return err(format!("`{text}` is not a policy Causeway understands")),
    };
    let required = policy.required();
    if required == 0 || required > policy.msps().len() {
        return err(format!(
            "`{text}` needs {required} of {} organisations: it could never, or always, be satisfied",
            policy.msps().len()
        ));
    }
    Ok(policy)
}

impl FabricPolicy {
    /// Parses a policy written as `[chains.<name>.verifier] endorsement_policy` is (`AND(…)`,
    /// `OR(…)`, `OutOf(n, …)`, `MAJORITY(…)`, or `MAJORITY` of `configured`), with the same
    /// checks; for other files that name a Fabric policy (e.g. `causeway verify`'s trust file).
    pub fn parse(text: &str, configured: &[String]) -> Result<FabricPolicy, String> {
        parse_policy(text, configured).map_err(|e| e.0)
    }
}

/// How to write a Fabric chain id, for fixes.
const CHAIN_ID_FIX: &str = "add chain_id = <a positive integer the consortium assigns to this channel, unique among its Fabric chains> (Fabric has no chain id of its own; this one names the channel in checkpoint signatures)";

impl<'n> ChainCheck<'_, 'n, '_> {
    pub(super) fn fabric(
        &mut self,
        raw: &RawChain,
        has_signers: bool,
        chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>,
    ) -> Option<FabricChain> {
        let others = self.not_for_family(RawFamily::Fabric, raw);
        let chain_id = self.fabric_chain_id(raw, chain_ids);
        if let Some(old) = &raw.chaincode {
            self.report(
                "chaincode",
                &Source::File(old.span()),
                Rule::InvalidValue,
                "one `chaincode` no longer names both sides: Causeway's outbox and inbox are two chaincodes",
                format!(
                    "replace chaincode = \"{}\" with outbox_chaincode = \"causeway_outbox\" and inbox_chaincode = \"causeway_inbox\"",
                    old.get_ref()
                ),
            );
        }
        let channel = self.text(
            "channel",
            raw.channel.as_ref(),
            Rule::MissingContract,
            "mychannel",
        );
        let outbox_chaincode = self.text(
            "outbox_chaincode",
            raw.outbox_chaincode.as_ref(),
            Rule::MissingContract,
            "causeway_outbox",
        );
        let inbox_chaincode = self.text(
            "inbox_chaincode",
            raw.inbox_chaincode.as_ref(),
            Rule::MissingContract,
            "causeway_inbox",
        );
        let msp_id = self.text("msp_id", raw.msp_id.as_ref(), Rule::MissingField, "Org1MSP");
        let tls_ca_file = self.optional_file("tls_ca_file", raw.tls_ca_file.as_ref());
        let identity_cert_file =
            self.optional_file("identity_cert_file", raw.identity_cert_file.as_ref());
        let sender_cert_file =
            self.optional_file("sender_cert_file", raw.sender_cert_file.as_ref());
        let tls_client = self.client_tls(raw);
        let verifier = self.verifier(raw.verifier.as_ref());
        if has_signers && raw.identity_cert_file.is_none() {
            let table = self.table.clone();
            self.report(
                "identity_cert_file",
                &table,
                Rule::MissingField,
                "a Fabric signer key needs the X.509 certificate of its identity",
                "add identity_cert_file = \"msp/signcerts/cert.pem\" (the certificate issued by the MSP for the signer key)",
            );
            return None;
        }
        match (&raw.sender_key_file, &raw.sender_cert_file) {
            (Some(_), None) => {
                let table = self.table.clone();
                self.report(
                    "sender_cert_file",
                    &table,
                    Rule::MissingField,
                    "a Fabric sender_key_file needs the X.509 certificate of its identity: \
                     applications' messages are dispatched as that identity",
                    "add sender_cert_file = \"msp/signcerts/cert.pem\" (the certificate issued by \
                     msp_id's CA for the sender key; it may be the identity_cert_file and \
                     signer_key_files[0] pair)",
                );
                return None;
            }
            (None, Some(cert)) => {
                self.report(
                    "sender_cert_file",
                    &Source::File(cert.span()),
                    Rule::MissingField,
                    "sender_cert_file names a sender identity, but there is no sender_key_file",
                    "add sender_key_file (the identity's PKCS#8 key), or remove sender_cert_file",
                );
                return None;
            }
            _ => {}
        }
        if !others || raw.chaincode.is_some() {
            return None;
        }
        Some(FabricChain {
            chain_id: chain_id?,
            channel: channel?,
            outbox_chaincode: outbox_chaincode?,
            inbox_chaincode: inbox_chaincode?,
            msp_id: msp_id?,
            identity_cert_file: identity_cert_file?,
            sender_cert_file: sender_cert_file?,
            tls_ca_file: tls_ca_file?,
            tls_client: tls_client?,
            verifier: verifier?,
        })
    }

    /// `tls_client_cert_file` and `tls_client_key_file`: both (a readable certificate and a
    /// private key file) or neither. One alone is refused here rather than at the handshake,
    /// where a peer requiring client certificates would only say it closed the connection.
    fn client_tls(&mut self, raw: &RawChain) -> Option<Option<FabricClientTls>> {
        let (cert, key) = match (&raw.tls_client_cert_file, &raw.tls_client_key_file) {
            (None, None) => return Some(None),
            (Some(cert), Some(key)) => (cert, key),
            (Some(cert), None) => {
                self.report(
                    "tls_client_key_file",
                    &Source::File(cert.span()),
                    Rule::MissingField,
                    "tls_client_cert_file is set without tls_client_key_file: a client TLS \
                     identity needs its private key",
                    "add tls_client_key_file = \"tls/client.key\" (the PEM key of that \
                     certificate, mode 0600), or remove tls_client_cert_file if the peers do \
                     not require client certificates",
                );
                return None;
            }
            (None, Some(key)) => {
                self.report(
                    "tls_client_cert_file",
                    &Source::File(key.span()),
                    Rule::MissingField,
                    "tls_client_key_file is set without tls_client_cert_file: a client TLS \
                     identity needs its certificate",
                    "add tls_client_cert_file = \"tls/client.pem\" (the PEM certificate the \
                     peers' TLS CA issued for that key), or remove tls_client_key_file if the \
                     peers do not require client certificates",
                );
                return None;
            }
        };
        if raw.tls_ca_file.is_none() {
            self.report(
                "tls_ca_file",
                &Source::File(cert.span()),
                Rule::MissingField,
                "a client TLS identity is configured without tls_ca_file: mutual TLS needs the \
                 peers' TLS CA too",
                "add tls_ca_file = \"tls/ca.pem\" (the peers' TLS CA certificate)",
            );
            return None;
        }
        let cert_file = located(self.ctx, cert);
        let key_file = located(self.ctx, key);
        let cert_key = self.key("tls_client_cert_file");
        let key_key = self.key("tls_client_key_file");
        let cert_ok = public_file(self.ctx, &cert_key, &cert_file);
        let key_ok = secret_file(self.ctx, &key_key, &key_file);
        (cert_ok && key_ok).then_some(Some(FabricClientTls {
            cert_file: cert_file.path,
            key_file: key_file.path,
        }))
    }

    /// The channel's configured chain id: non-zero, unique among the Fabric chains.
    fn fabric_chain_id(
        &mut self,
        raw: &RawChain,
        chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>,
    ) -> Option<u64> {
        let Some(v) = &raw.chain_id else {
            return self.chain_id_problem(
                None,
                Rule::MissingField,
                "a Fabric chain needs its configured chain id: checkpoint signatures name the channel by it",
                CHAIN_ID_FIX,
            );
        };
        match v.get_ref() {
            toml::Value::Integer(0) => self.chain_id_problem(
                Some(v),
                Rule::ZeroValue,
                "chain id 0 is the default value and is never trusted",
                "write the non-zero chain id the consortium assigned to this channel",
            ),
            toml::Value::Integer(n) if *n > 0 => self
                .unique_chain_id(RawFamily::Fabric, n.to_string(), v, chain_ids)
                .map(|()| n.unsigned_abs()),
            other => self.chain_id_problem(
                Some(v),
                Rule::InvalidValue,
                format!("`{other}` is not a Fabric chain id"),
                "write the chain id the consortium assigned to this channel as a positive integer, e.g. chain_id = 2001",
            ),
        }
    }

    fn verifier(&mut self, raw: Option<&S<RawFabricVerifier>>) -> Option<FabricVerifier> {
        let Some(raw) = raw else {
            let table = self.table.clone();
            self.report(
                "verifier",
                &table,
                Rule::MissingVerifier,
                "a Fabric chain needs a verifier: without the MSP roots, orderers and endorsement policy its blocks are checked against, nothing it reads could be trusted",
                VERIFIER_EXAMPLE,
            );
            return None;
        };
        let section = Source::File(raw.span());
        let raw = raw.get_ref();
        let orgs = self.msps("verifier.orgs", &raw.orgs, &section, "Org1MSP", "org1");
        let orderers = self.msps(
            "verifier.orderers",
            &raw.orderers,
            &section,
            "OrdererMSP",
            "orderer",
        );
        let orderer_signatures = match &raw.orderer_signatures {
            None => Some(1),
            Some(n) if *n.get_ref() == 0 => {
                self.report(
                    "verifier.orderer_signatures",
                    &Source::File(n.span()),
                    Rule::ZeroValue,
                    "0 orderer signatures would accept unsigned blocks",
                    "write orderer_signatures = 1 (Raft) or the BFT quorum",
                );
                None
            }
            Some(n) => Some(*n.get_ref()),
        };
        let policy = self.policy(raw, &section, orgs.as_deref());
        let consenters = self.consenters(raw, orderer_signatures);
        let distinct = self.distinct_roots(raw);
        if !distinct {
            return None;
        }
        Some(FabricVerifier {
            orgs: orgs?,
            orderers: orderers?,
            endorsement_policy: policy?,
            orderer_signatures: orderer_signatures?,
            consenters: consenters?,
        })
    }

    fn policy(
        &mut self,
        raw: &RawFabricVerifier,
        section: &Source,
        orgs: Option<&[FabricMsp]>,
    ) -> Option<FabricPolicy> {
        let field = "verifier.endorsement_policy";
        let Some(text) = &raw.endorsement_policy else {
            self.report(
                field,
                section,
                Rule::MissingField,
                "no endorsement policy is configured",
                POLICY_FIX,
            );
            return None;
        };
        let source = Source::File(text.span());
        let orgs = orgs?;
        let configured: Vec<String> = orgs.iter().map(|o| o.msp_id.clone()).collect();
        let policy = match parse_policy(text.get_ref(), &configured) {
            Ok(p) => p,
            Err(PolicyError(problem)) => {
                self.report(field, &source, Rule::InvalidPolicy, problem, POLICY_FIX);
                return None;
            }
        };
        if let Some(missing) = policy.msps().iter().find(|m| !configured.contains(m)) {
            self.report(
                field,
                &source,
                Rule::InvalidPolicy,
                format!("the policy names {missing}, whose MSP root certificates are not configured in verifier.orgs"),
                format!("add {{ msp_id = \"{missing}\", root_cert_files = [\"…/cacerts/ca.pem\"] }} to verifier.orgs, or remove {missing} from the policy"),
            );
            return None;
        }
        Some(policy)
    }

    /// A list of organisations: at least one, unique MSP ids, each with root files that exist.
    fn msps(
        &mut self,
        field: &str,
        raw: &[S<RawFabricMsp>],
        section: &Source,
        example_msp: &str,
        example_dir: &str,
    ) -> Option<Vec<FabricMsp>> {
        let fix = format!(
            "add {field} = [{{ msp_id = \"{example_msp}\", root_cert_files = [\"msp/{example_dir}/cacerts/ca.pem\"] }}]"
        );
        if raw.is_empty() {
            self.report(
                field,
                section,
                Rule::MissingVerifier,
                format!("{field} lists no organisation: nothing would be trusted"),
                fix,
            );
            return None;
        }
        let mut ok = true;
        let mut out = Vec::with_capacity(raw.len());
        let mut seen = BTreeSet::new();
        for (i, entry) in raw.iter().enumerate() {
            let at = Source::File(entry.span());
            let entry = entry.get_ref();
            let id = entry.msp_id.get_ref();
            let id_source = Source::File(entry.msp_id.span());
            if id.is_empty() || id.contains(char::is_whitespace) {
                self.report(
                    &format!("{field}[{i}].msp_id"),
                    &id_source,
                    Rule::InvalidValue,
                    format!("`{id}` is not an MSP id"),
                    format!("write msp_id = \"{example_msp}\""),
                );
                ok = false;
            } else if !seen.insert(id.clone()) {
                self.report(
                    &format!("{field}[{i}].msp_id"),
                    &id_source,
                    Rule::InvalidValue,
                    format!("{id} is listed twice"),
                    "list each organisation once, with all of its root certificates",
                );
                ok = false;
            }
            if entry.root_cert_files.is_empty() {
                self.report(
                    &format!("{field}[{i}].root_cert_files"),
                    &at,
                    Rule::MissingField,
                    format!("{id} has no root certificate: none of its identities could be validated"),
                    format!("add root_cert_files = [\"msp/{example_dir}/cacerts/ca.pem\"] (the MSP folder's cacerts/)"),
                );
                ok = false;
            }
            let mut files: Vec<PathBuf> = Vec::with_capacity(entry.root_cert_files.len());
            for (j, file) in entry.root_cert_files.iter().enumerate() {
                let file = located(self.ctx, file);
                let key = self.key(&format!("{field}[{i}].root_cert_files[{j}]"));
                ok &= public_file(self.ctx, &key, &file);
                files.push(file.path);
            }
            out.push(FabricMsp {
                msp_id: id.clone(),
                root_cert_files: files,
            });
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orgs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn policies_parse_in_fabric_notation() {
        let configured = orgs(&["Org1MSP", "Org2MSP", "Org3MSP"]);
        let p = |t: &str| parse_policy(t, &configured);
        assert_eq!(
            p("AND(Org1MSP,Org2MSP)"),
            Ok(FabricPolicy::AllOf(orgs(&["Org1MSP", "Org2MSP"])))
        );
        assert_eq!(
            p("and('Org1MSP', 'Org2MSP')"),
            Ok(FabricPolicy::AllOf(orgs(&["Org1MSP", "Org2MSP"])))
        );
        assert_eq!(
            p("OR(Org1MSP,Org2MSP)"),
            Ok(FabricPolicy::OutOf {
                n: 1,
                msps: orgs(&["Org1MSP", "Org2MSP"])
            })
        );
        assert_eq!(
            p("OutOf(2, Org1MSP, Org2MSP, Org3MSP)"),
            Ok(FabricPolicy::OutOf {
                n: 2,
                msps: configured.clone()
            })
        );
        assert_eq!(
            p("MAJORITY"),
            Ok(FabricPolicy::Majority(configured.clone()))
        );
        assert_eq!(p("MAJORITY").map(|m| m.required()), Ok(2));
        assert_eq!(p("Majority(Org1MSP,Org2MSP)").map(|m| m.required()), Ok(2));
        assert_eq!(
            p("OutOf(2,Org1MSP,Org2MSP)").map(|m| m.to_string()),
            Ok("OutOf(2,Org1MSP,Org2MSP)".to_owned())
        );
    }

    #[test]
    fn policies_that_cannot_work_are_refused() {
        let configured = orgs(&["Org1MSP", "Org2MSP"]);
        let refused = |t: &str| match parse_policy(t, &configured) {
            Err(PolicyError(m)) => m,
            Ok(p) => panic!("{t} accepted as {p:?}"),
        };
        assert!(refused("AND('Org1MSP.peer','Org2MSP.peer')").contains("names a role"));
        assert!(refused("AND(Org1MSP,OR(Org2MSP,Org3MSP))").contains("nests"));
        assert!(refused("AND()").contains("empty organisation"));
        assert!(refused("AND(Org1MSP,Org1MSP)").contains("twice"));
        assert!(refused("OutOf(0,Org1MSP)").contains("needs 0 of 1"));
        assert!(refused("OutOf(3,Org1MSP,Org2MSP)").contains("needs 3 of 2"));
        assert!(refused("OutOf(two,Org1MSP)").contains("not a count"));
        assert!(refused("ANY Endorsement").contains("not a policy"));
        assert!(refused("AND(Org1MSP").contains("closing parenthesis"));
        assert!(parse_policy("MAJORITY", &[]).is_err());
    }
}
