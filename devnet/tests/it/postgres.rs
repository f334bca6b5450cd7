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
