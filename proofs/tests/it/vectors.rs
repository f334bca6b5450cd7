//! Locating `../shared/vectors/`, which holds the published test vectors this crate must reproduce.

use std::path::PathBuf;

/// Path of a file under the shared vectors folder (`<repo>/../shared/vectors/<rel>`).
/// `CAUSEWAY_VECTORS` overrides the folder.
pub(crate) fn vector_path(rel: &str) -> PathBuf {
    let base = std::env::var_os("CAUSEWAY_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"));
    let p = base.join(rel);
    assert!(
        p.exists(),
        "test vector {} not found: the shared/ folder must sit beside the repository (or set CAUSEWAY_VECTORS)",
        p.display()
    );
    p
}

/// Reads a vector file as text.
pub(crate) fn read_vector(rel: &str) -> String {
    let p = vector_path(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}
