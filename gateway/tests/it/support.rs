//! Running the `causeway` binary: one place for the command, its `verify` calls and the text a
//! failed assertion shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `causeway` with `args`.
pub(crate) fn causeway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(args)
        .output()
        .expect("the causeway binary runs")
}

/// The exit code and both streams of a run, for assertion messages.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `causeway verify <bundles…> --trust <trust> <extra…>`.
pub(crate) fn verify_all(bundles: &[PathBuf], trust: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&str> = vec!["verify"];
    args.extend(bundles.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--trust", trust.to_str().unwrap()]);
    args.extend_from_slice(extra);
    causeway(&args)
}

/// `causeway verify <bundle> --trust <trust> <extra…>`.
pub(crate) fn verify(bundle: &Path, trust: &Path, extra: &[&str]) -> Output {
    verify_all(&[bundle.to_path_buf()], trust, extra)
}
