//! Node.js scripts that check our Fabric wire format with Fabric's own official Node code.
//!
//! The npm packages (`@hyperledger/fabric-gateway`, `@hyperledger/fabric-protos`,
//! `@grpc/grpc-js`) are pinned by `tools/package-lock.json` and installed by `scripts/setup.sh`
//! into the workspace's `.tools/node_modules`, which is found relative to the workspace root (or
//! at `$CAUSEWAY_NODE_MODULES`) and handed to the scripts in that variable: nothing is looked up
//! through `NODE_PATH`, and no `PATH` is rewritten. The `node` binary is `$CAUSEWAY_NODE` if set,
//! else the first executable `node` in the directories of `PATH`, the one `scripts/setup.sh`
//! installed the packages with.
//!
//! The scripts live in `devnet/fidelity/` ([`fidelity_script`]); each reads one JSON document on
//! stdin and prints one JSON document on stdout ([`run_json`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::anvil::workspace_root;
use crate::{Error, Result};

/// Environment variable that overrides the `node` binary's location.
pub const NODE_ENV: &str = "CAUSEWAY_NODE";
/// Environment variable that overrides the `node_modules` folder the scripts load packages from
/// (and the variable the scripts read it from).
pub const NODE_MODULES_ENV: &str = "CAUSEWAY_NODE_MODULES";
/// Where `scripts/setup.sh` installs the npm packages, relative to the workspace root.
pub const NODE_MODULES_RELATIVE_PATH: &str = ".tools/node_modules";
/// The packages the fidelity scripts need, each checked before a script runs.
pub const FIDELITY_PACKAGES: [&str; 3] = [
    "@hyperledger/fabric-gateway",
    "@hyperledger/fabric-protos",
    "@grpc/grpc-js",
];
/// How long one script may run unless the caller says otherwise.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The `node` binary: `$CAUSEWAY_NODE` if set, else the first executable `node` on `PATH`.
pub fn node_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(NODE_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(p);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::NodeNotFound {
                looked_in: format!("${NODE_ENV} = {}", path.display()),
            })
        };
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .map(|dir| dir.join("node"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| Error::NodeNotFound {
            looked_in: format!("PATH = {}", dirs.to_string_lossy()),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `node_modules` folder: `$CAUSEWAY_NODE_MODULES` if set, else
/// [`NODE_MODULES_RELATIVE_PATH`] under the workspace root.
pub fn node_modules_path() -> PathBuf {
    match std::env::var_os(NODE_MODULES_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(NODE_MODULES_RELATIVE_PATH),
    }
}

/// The fidelity script `name` (e.g. `"proposal.mjs"`) in `devnet/fidelity/`.
pub fn fidelity_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fidelity")
        .join(name)
}

/// Fails with [`Error::NodePackagesMissing`] unless every one of [`FIDELITY_PACKAGES`] is
/// installed in `node_modules`.
pub fn check_packages(node_modules: &Path) -> Result<()> {
    let missing: Vec<&str> = FIDELITY_PACKAGES
        .iter()
        .copied()
        .filter(|package| !node_modules.join(package).join("package.json").is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::NodePackagesMissing {
            path: node_modules.to_path_buf(),
            missing: missing.join(", "),
        })
    }
}

/// Runs `script` with `input` as JSON on stdin and parses its stdout as JSON, within `timeout`.
/// A script that exits non-zero, prints something that is not JSON, or overruns fails with
/// [`Error::NodeScript`], which carries what it wrote on stderr.
pub async fn run_json_within(
    script: &Path,
    input: &serde_json::Value,
    timeout: Duration,
) -> Result<serde_json::Value> {
    let node = node_path()?;
    let node_modules = node_modules_path();
    check_packages(&node_modules)?;
    let failed = |reason: String, stderr: String| Error::NodeScript {
        script: script.to_path_buf(),
        reason,
        stderr,
    };
    let mut child = Command::new(&node)
        .arg(script)
        .env(NODE_MODULES_ENV, &node_modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            failed(
                format!("cannot start {}: {e}", node.display()),
                String::new(),
            )
        })?;
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(failed("no stdio pipes".to_owned(), String::new()));
    };
    let input = input.to_string().into_bytes();
    let run = async {
        let feed = async {
            // A script that exits early closes its stdin; its exit status then tells why.
            let _ = stdin.write_all(&input).await;
            drop(stdin);
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (_, out_read, err_read) = tokio::join!(
            feed,
            stdout.read_to_end(&mut out),
            stderr.read_to_end(&mut err)
        );
        let status = child.wait().await;
        (status, out_read.map(|_| out), err_read.map(|_| err))
    };
    let (status, out, err) = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| failed(format!("no result within {timeout:?}"), String::new()))?;
    let stderr = String::from_utf8_lossy(&err.unwrap_or_default()).into_owned();
    let status =
        status.map_err(|e| failed(format!("cannot wait for node: {e}"), stderr.clone()))?;
    if !status.success() {
        return Err(failed(format!("exited with {status}"), stderr));
    }
    let out = out.map_err(|e| failed(format!("unreadable stdout: {e}"), stderr.clone()))?;
    serde_json::from_slice(&out).map_err(|e| {
        failed(
            format!(
                "stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&out)
                    .chars()
                    .take(2000)
                    .collect::<String>()
            ),
            stderr,
        )
    })
}

/// [`run_json_within`] with [`SCRIPT_TIMEOUT`].
pub async fn run_json(script: &Path, input: &serde_json::Value) -> Result<serde_json::Value> {
    run_json_within(script, input, SCRIPT_TIMEOUT).await
}
