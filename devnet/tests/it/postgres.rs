//! The private PostgreSQL cluster: starts, answers, stops and starts again on the same port
//! with its data, and leaves nothing behind when dropped.

use causeway_devnet::postgres::PostgresNode;

#[test]
fn cluster_starts_stops_restarts_and_is_removed_on_drop() {
    let mut pg = PostgresNode::start().unwrap();
    assert_eq!(pg.psql("postgres", "SELECT 40 + 2").unwrap(), "42");
    let url = pg.create_database("causeway_t1").unwrap();
    assert!(
        url.ends_with(&format!(":{}/causeway_t1", pg.port())),
        "{url}"
    );
    pg.psql(
        "causeway_t1",
        "CREATE TABLE t (x int); INSERT INTO t VALUES (7)",
    )
    .unwrap();
    // A wrong password is refused (the cluster is not open to anyone on the machine).
    let out =
        std::process::Command::new(causeway_devnet::postgres::postgres_bin_dir().join("psql"))
            .args(["-X", "-h", "127.0.0.1", "-p", &pg.port().to_string()])
            .args(["-U", "causeway", "-d", "postgres", "-c", "SELECT 1"])
            .env("PGPASSWORD", "wrong")
            .output()
            .unwrap();
    assert!(!out.status.success(), "a wrong password was accepted");

    pg.stop().unwrap();
    assert!(!pg.is_running());
    assert!(
        pg.psql("postgres", "SELECT 1").is_err(),
        "a stopped server answered"
    );
    pg.restart().unwrap();
    assert_eq!(pg.psql("causeway_t1", "SELECT x FROM t").unwrap(), "7");

    let data = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.join("data/postmaster.pid").is_file()
                && std::fs::read_to_string(p.join("data/postmaster.pid"))
                    .is_ok_and(|s| s.lines().nth(3) == Some(&pg.port().to_string()))
        });
    let data = data.expect("the cluster's folder under /tmp");
    drop(pg);
    assert!(!data.exists(), "{} left behind", data.display());
}

#[test]
fn bad_database_names_are_refused() {
    let pg = PostgresNode::start().unwrap();
    assert!(pg.create_database("x; DROP DATABASE postgres").is_err());
    assert!(pg.create_database("").is_err());
}

/// The server's CPU (its postmaster, background processes and backends, from /proc) is read
/// while it runs and grows with the work it is given; a stopped server has none to report.
#[test]
fn the_servers_cpu_is_read_and_grows_with_its_work() {
    let mut pg = PostgresNode::start().unwrap();
    let before = pg.server_cpu_ticks().expect("a running server's CPU");
    // A backend's time reaches the count once it is reaped (or while it runs): a few queries
    // of ~0.3 s each, bounded.
    let mut after = before;
    for _ in 0..5 {
        let out = pg
            .psql(
                "postgres",
                "SELECT sum(x) FROM generate_series(1, 5000000) AS x",
            )
            .unwrap();
        assert_eq!(out, "12500002500000");
        after = pg.server_cpu_ticks().unwrap();
        if after > before {
            break;
        }
    }
    assert!(after > before, "{before} -> {after} ticks");
    pg.stop().unwrap();
    assert_eq!(pg.server_cpu_ticks(), None);
}
