//! schemathesis (PyPI, pinned by tools/schemathesis-requirements.txt, installed into
//! .tools/schemathesis by scripts/setup.sh) against the OpenAPI document the API serves on a
//! real socket: generated valid and invalid requests to every route but the endless event
//! stream, bounded in examples and wall-clock time. No response may be a 5xx, and every
//! response must match the document (status codes, content types, headers, schemas); wrong
//! methods must get 405 and requests without the token 401.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::api::{Served, up_chains};

/// Where schemathesis is: `$CAUSEWAY_SCHEMATHESIS`, else the venv scripts/setup.sh makes.
fn schemathesis() -> PathBuf {
    match std::env::var_os("CAUSEWAY_SCHEMATHESIS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../.tools/schemathesis/bin/schemathesis"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_response_off_the_document() {
    let bin = schemathesis();
    assert!(
        bin.exists(),
        "schemathesis not found at {}: run scripts/setup.sh (installs the pinned PyPI package \
         into .tools/schemathesis) or set CAUSEWAY_SCHEMATHESIS",
        bin.display()
    );
    let api = Served::start(up_chains()).await;
    let report = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new(&bin)
        .args([
            "run",
            &format!("{}/v1/openapi.json", api.base),
            "--url",
            &api.base,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance,unsupported_method,\
             ignored_auth",
            "--exclude-path",
            "/v1/events",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--max-time",
            "45",
            "--request-timeout",
            "5",
            "--seed",
            "12",
            "--workers",
            "1",
            "--suppress-health-check",
            "all",
            "--report-dir",
            report.path().to_str().unwrap(),
            "-H",
            &format!("Authorization: Bearer {}", api.admin),
        ])
        // Its cache and reports go to a temporary folder, not the source tree.
        .current_dir(report.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output())
        .await
        .expect("schemathesis finishes within its time budget")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The summary (operations, checks, cases) in the test's output for the CI log.
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found problems (exit {:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    // It did test every route but the stream (a run that generated nothing would also exit 0):
    // the seventeen of the API (the logs' consistency proofs included) and the status page's
    // /v1/lanes and /v1/activity.
    assert!(stdout.contains("Tested: 19"), "{stdout}");
    api.stop().await;
}
