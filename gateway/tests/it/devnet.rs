//! `causeway devnet --messages N`: the main job as a user runs it. Two anvil chains, the Fabric
//! test network and three member gateways (`causeway run` processes, 2 of 3 over mutual TLS):
//! 200 messages in each of the four directions (alliance <-> public, alliance <-> Fabric),
//! each delivered exactly once (checked by the command: one `Delivered` per message on each
//! Inbox, the Fabric recipient chaincode's count) and every bundle verified by `causeway verify`.

use crate::support::text;

#[test]
fn devnet_delivers_two_hundred_messages_in_every_direction_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("net");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(["devnet", "--messages", "200", "--timeout", "240", "--dir"])
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for route in [
        "alliance->public",
        "public->alliance",
        "alliance->ledger",
        "ledger->alliance",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.trim_start().starts_with(route) && l.contains("200 messages")),
            "{route}: {stderr}"
        );
    }
    assert!(stderr.contains("delivered exactly once"), "{stderr}");
    assert!(stderr.contains("800 proof bundles verified"), "{stderr}");
    // The alliance chain's log (its 400 messages) anchored on the public chain, and its 400
    // bundles checked against the anchor.
    assert!(
        stderr.contains("anchored: the alliance chain's log")
            && stderr.contains("the last at 400 leaves; 400 bundles from alliance passed"),
        "{stderr}"
    );
    // What it printed is there: each member's folder, config, store and log.
    for org in ["org1", "org2", "org3"] {
        for file in ["causeway.toml", "causeway.sqlite", "gateway.log"] {
            assert!(folder.join(org).join(file).is_file(), "{org}/{file}");
        }
        let log = std::fs::read_to_string(folder.join(org).join("gateway.log")).unwrap();
        assert!(log.contains("gateway running"), "{log}");
        assert!(log.contains("API listening"), "the HTTP API started: {log}");
        assert!(
            log.contains("signal=\"SIGTERM\""),
            "drained on SIGTERM: {log}"
        );
    }
    // Nothing left running: no anvil or gateway of this folder.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !ps.lines().any(|l| l.contains(folder.to_str().unwrap())),
        "a gateway of the devnet still runs:\n{ps}"
    );
}
