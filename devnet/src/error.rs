//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while starting chains or deploying contracts. (alloy's errors
/// are boxed: they are large and rare.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The anvil binary is not where it should be.
    #[error(
        "anvil not found at {path}: run scripts/setup.sh (installs the pinned npm package into .tools/) or set CAUSEWAY_ANVIL"
    )]
    AnvilNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The anvil process could not be started.
    #[error("could not start anvil at {path}")]
    AnvilSpawn {
        /// The binary.
        path: PathBuf,
        /// Why the OS refused.
        source: std::io::Error,
    },
    /// anvil exited or stopped talking before it reported its listening address.
    #[error("anvil did not start ({reason}); its output was:\n{output}")]
    AnvilStartup {
        /// What happened (exited, timed out, unreadable output).
        reason: String,
        /// What anvil printed so far.
        output: String,
    },
    /// A compiled contract artifact could not be read.
    #[error("cannot read contract artifact {path} (run scripts/build-contracts.sh)")]
    ArtifactRead {
        /// The artifact file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A compiled contract artifact is not in the expected shape.
    #[error("malformed contract artifact {path}: {reason}")]
    ArtifactFormat {
        /// The artifact file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON-RPC request to a node failed.
    #[error("rpc request failed while {context}")]
    Rpc {
        /// What we were doing.
        context: &'static str,
        /// The transport error.
        source: Box<alloy::transports::TransportError>,
    },
    /// A contract call or transaction failed (including reverts, whose data it carries).
    #[error("contract call failed while {context}")]
    Contract {
        /// What we were doing.
        context: &'static str,
        /// The alloy contract error.
        source: Box<alloy::contract::Error>,
    },
    /// A transaction was mined but reverted.
    #[error("{call} reverted")]
    Reverted {
        /// The contract function called.
        call: &'static str,
    },
    /// Waiting for a transaction's receipt failed.
    #[error("transaction not confirmed while {context}")]
    Pending {
        /// What we were doing.
        context: &'static str,
        /// The alloy error.
        source: Box<alloy::providers::PendingTransactionError>,
    },
    /// A deployment transaction was mined but reverted, or created no contract.
    #[error("deploying {contract} failed: {reason}")]
    Deploy {
        /// The contract name.
        contract: String,
        /// What happened.
        reason: String,
    },
    /// No `node` binary to run the Fabric fidelity scripts with.
    #[error(
        "node not found ({looked_in}): install Node.js (scripts/setup.sh needs it too) or set CAUSEWAY_NODE"
    )]
    NodeNotFound {
        /// Where it was looked for.
        looked_in: String,
    },
    /// The pinned npm packages the fidelity scripts load are not installed.
    #[error(
        "npm packages missing in {path}: {missing}: run scripts/setup.sh (installs the pinned tools/ packages into .tools/) or set CAUSEWAY_NODE_MODULES"
    )]
    NodePackagesMissing {
        /// The `node_modules` folder looked in.
        path: PathBuf,
        /// The packages not found there.
        missing: String,
    },
    /// A Node script failed: could not start, exited non-zero, overran, or printed no JSON.
    #[error("node script {script} failed: {reason}; its stderr was:\n{stderr}")]
    NodeScript {
        /// The script.
        script: PathBuf,
        /// What happened.
        reason: String,
        /// What the script wrote on stderr.
        stderr: String,
    },
    /// The consortium test PKI could not issue or write a certificate.
    #[error("test PKI: {context}: {reason}")]
    Pki {
        /// What we were doing.
        context: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The Fabric test network could not be set up, started, stopped or asked something.
    #[error("Fabric test network: {context}: {reason}")]
    Fabric {
        /// What we were doing, e.g. "binding the peer's port".
        context: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The private PostgreSQL cluster could not be created, started, stopped or asked something.
    #[error("PostgreSQL test cluster: {context}: {reason}")]
    Postgres {
        /// What we were doing, e.g. "running initdb".
        context: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The FISCO BCOS test node could not be started or refused a request.
    #[error("FISCO BCOS test node: {context}: {reason}")]
    Fisco {
        /// What we were doing, e.g. "binding the RPC port".
        context: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
