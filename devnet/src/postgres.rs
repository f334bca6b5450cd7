//! A private PostgreSQL cluster per test run, from Debian's `postgresql` 15 binaries
//! (`scripts/setup.sh` installs the pinned package), like the anvil nodes: `initdb` into a
//! temporary folder, a free loopback port, removed when the handle is dropped.
//!
//! PostgreSQL refuses to run as root: when the tests run as root the cluster runs as `nobody`
//! (its folder is handed to that user). The server runs under a small shell supervisor whose
//! standard input is a pipe from this process: a `stop` line stops the server for an outage
//! test ([`PostgresNode::stop`]); end of input (this process ended, however it ended, even
//! SIGKILLed) stops the server and removes the folder, so an aborted test run leaves neither a
//! server nor its files behind.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};

use crate::{Error, Result};

/// Environment variable that overrides the folder of the PostgreSQL server binaries.
pub const POSTGRES_BIN_ENV: &str = "CAUSEWAY_POSTGRES_BIN";
/// Where Debian's `postgresql-15` package puts `initdb`, `postgres`, `pg_isready` and `psql`.
pub const POSTGRES_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// The cluster's superuser (its password is random per cluster).
pub const POSTGRES_USER: &str = "causeway";
/// How long the server may take to accept connections.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The supervisor: runs the server in the background, then waits on its standard input. A
/// `stop` line stops the server (fast shutdown) and keeps the folder; end of input stops it
/// and removes the folder (`$1`).
const SUPERVISOR: &str = r#"
exec 2>>"$1/postgres.log"
"$2/postgres" -D "$1/data" -p "$3" -h 127.0.0.1 -k "$1" $4 &
pid=$!
if read -r _line; then
    kill -INT "$pid" 2>/dev/null; wait "$pid"; exit 0
fi
kill -INT "$pid" 2>/dev/null; wait "$pid"; rm -rf "$1"
"#;

/// How durable the cluster's commits are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `fsync = off`, `synchronous_commit = off`: fast, for functional tests (a crash of the
    /// machine loses the cluster, which is a temporary folder anyway).
    #[default]
    Fast,
    /// PostgreSQL's defaults (every commit flushed): for benchmarks that compare stores.
    Durable,
}

/// A running private PostgreSQL cluster on `127.0.0.1`. Dropping it stops the server and
/// removes its folder.
#[derive(Debug)]
pub struct PostgresNode {
    dir: Option<tempfile::TempDir>,
    bin: PathBuf,
    port: u16,
    password: String,
    durability: Durability,
    run_as: Option<(u32, u32)>,
    /// The server's certificate and key files, when it speaks TLS ([`PostgresNode::start_tls`]).
    tls: Option<(PathBuf, PathBuf)>,
    server: Option<Server>,
}

/// The supervisor process and the pipe that controls it.
#[derive(Debug)]
struct Server {
    child: Child,
    control: ChildStdin,
}

/// An [`Error::Postgres`].
fn err(context: &'static str, reason: impl ToString) -> Error {
    Error::Postgres {
        context,
        reason: reason.to_string(),
    }
}

/// The folder of the server binaries: `$CAUSEWAY_POSTGRES_BIN` or [`POSTGRES_BIN_DIR`].
pub fn postgres_bin_dir() -> PathBuf {
    match std::env::var_os(POSTGRES_BIN_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(POSTGRES_BIN_DIR),
    }
}

/// The (uid, gid) the cluster runs as: `nobody` when this process is root (PostgreSQL refuses
/// root), else `None` (this process's user).
fn run_as() -> Result<Option<(u32, u32)>> {
    let me = std::fs::metadata("/proc/self").map_err(|e| err("finding the current user", e))?;
    if me.uid() != 0 {
        return Ok(None);
    }
    let passwd =
        std::fs::read_to_string("/etc/passwd").map_err(|e| err("reading /etc/passwd", e))?;
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&"nobody") && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .map(Some)
        .ok_or_else(|| {
            err(
                "choosing a user to run PostgreSQL as",
                "running as root and there is no `nobody` user in /etc/passwd (PostgreSQL refuses root)",
            )
        })
}

/// A free loopback port for the cluster ([`crate::free_port`]).
fn free_port() -> Result<u16> {
    crate::free_port().map_err(|e| err("finding a free port", e))
}

impl PostgresNode {
    /// Starts a new cluster with [`Durability::Fast`] and waits until it accepts connections.
    pub fn start() -> Result<Self> {
        Self::start_with(Durability::Fast)
    }

    /// Starts a new cluster with [`Durability::Fast`] that speaks TLS (`ssl = on`) with
    /// `cert_pem` and `key_pem` (PEM) as its certificate and key, and accepts TCP connections
    /// over TLS only (`hostssl` in `pg_hba.conf`).
    pub fn start_tls(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        Self::start_inner(Durability::Fast, Some((cert_pem, key_pem)))
    }

    /// Starts a new cluster (`initdb`, then the server) and waits until it accepts connections.
    pub fn start_with(durability: Durability) -> Result<Self> {
        Self::start_inner(durability, None)
    }

    fn start_inner(durability: Durability, tls: Option<(&[u8], &[u8])>) -> Result<Self> {
        let bin = postgres_bin_dir();
        for tool in ["initdb", "postgres", "pg_isready", "psql"] {
            if !bin.join(tool).is_file() {
                return Err(err(
                    "finding the PostgreSQL binaries",
                    format!(
                        "{} is missing: run scripts/setup.sh (installs Debian's postgresql 15) or set {POSTGRES_BIN_ENV}",
                        bin.join(tool).display()
                    ),
                ));
            }
        }
        let run_as = run_as()?;
        let dir = tempfile::Builder::new()
            .prefix("causeway-pg-")
            .tempdir()
            .map_err(|e| err("creating the cluster folder", e))?;
        let mut password = [0u8; 16];
        OsRng.fill_bytes(&mut password);
        let password = hex::encode(password);
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n"))
            .map_err(|e| err("writing the password file", e))?;
        if let Some((uid, gid)) = run_as {
            for p in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))
                    .map_err(|e| err("handing the cluster folder to its user", e))?;
            }
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", POSTGRES_USER, "--auth=scram-sha-256", "-E", "UTF8"])
            .args(["--no-locale", "--no-sync", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()));
        let out = Self::command(initdb, dir.path(), run_as)
            .output()
            .map_err(|e| err("running initdb", e))?;
        let _ = std::fs::remove_file(&pwfile);
        if !out.status.success() {
            return Err(err(
                "running initdb",
                format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        let tls = match tls {
            Some((cert, key)) => {
                // The server reads its key only if no one else may (0600, its own user).
                use std::os::unix::fs::PermissionsExt as _;
                let paths = (dir.path().join("server.crt"), dir.path().join("server.key"));
                for (path, bytes) in [(&paths.0, cert), (&paths.1, key)] {
                    std::fs::write(path, bytes)
                        .map_err(|e| err("writing the server's TLS files", e))?;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| err("writing the server's TLS files", e))?;
                    if let Some((uid, gid)) = run_as {
                        std::os::unix::fs::chown(path, Some(uid), Some(gid))
                            .map_err(|e| err("handing the TLS files to the cluster's user", e))?;
                    }
                }
                // TCP over TLS only: a client that connected at all spoke TLS.
                std::fs::write(
                    dir.path().join("data/pg_hba.conf"),
                    "local all all scram-sha-256\n\
                     hostssl all all 127.0.0.1/32 scram-sha-256\n\
                     hostssl all all ::1/128 scram-sha-256\n",
                )
                .map_err(|e| err("writing pg_hba.conf", e))?;
                Some(paths)
            }
            None => None,
        };
        let mut node = PostgresNode {
            dir: Some(dir),
            bin,
            port: free_port()?,
            password,
            durability,
            run_as,
            tls,
            server: None,
        };
        node.start_server()?;
        Ok(node)
    }

    /// `cmd` prepared to run as the cluster's user in `dir`.
    fn command(mut cmd: Command, dir: &Path, run_as: Option<(u32, u32)>) -> Command {
        cmd.current_dir(dir)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid).env("HOME", dir);
        }
        cmd
    }

    fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or_else(|| Path::new("/nonexistent"), |d| d.path())
    }

    /// Starts the server (under its supervisor) on the cluster's port and waits until it
    /// accepts connections.
    fn start_server(&mut self) -> Result<()> {
        let mut options = match self.durability {
            Durability::Fast => "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            Durability::Durable => "",
        }
        .to_owned();
        if let Some((cert, key)) = &self.tls {
            options += &format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            );
        }
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg(SUPERVISOR)
            .arg("causeway-pg")
            .arg(self.dir())
            .arg(&self.bin)
            .arg(self.port.to_string())
            .arg(options);
        let mut cmd = Self::command(sh, self.dir(), self.run_as);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| err("starting the PostgreSQL server", e))?;
        let control = child
            .stdin
            .take()
            .ok_or_else(|| err("starting the PostgreSQL server", "no control pipe"))?;
        self.server = Some(Server { child, control });
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| err("running pg_isready", e))?;
            if ready.success() {
                return Ok(());
            }
            let exited = match self.server.as_mut() {
                Some(s) => s
                    .child
                    .try_wait()
                    .map_err(|e| err("watching the server", e))?,
                None => None,
            };
            if exited.is_some() || started.elapsed() > STARTUP_TIMEOUT {
                let log = self.log();
                self.server = None;
                return Err(err(
                    "starting the PostgreSQL server",
                    format!(
                        "{} (port {}); its log ends with:\n{log}",
                        if exited.is_some() {
                            "it exited"
                        } else {
                            "it did not accept connections in time"
                        },
                        self.port
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of the server's log (for error messages).
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir().join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The CPU time the server has used so far, in clock ticks (user + system): its postmaster
    /// with the processes it has reaped, and its live processes (background workers and
    /// backends). `None` when the server is not running or Linux's `/proc` cannot be read.
    /// For benchmarks that compare stores: the server's share of the work beside its clients'.
    pub fn server_cpu_ticks(&self) -> Option<u64> {
        let pid_file = std::fs::read_to_string(self.dir().join("data/postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        // /proc/PID/stat after the command name: state, ppid, ..., utime (12th), stime,
        // cutime, cstime.
        let stat = |pid: &str| -> Option<(u32, [u64; 4])> {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let f: Vec<&str> = text
                .get(text.rfind(')')? + 2..)?
                .split_whitespace()
                .collect();
            let n = |i: usize| f.get(i)?.parse::<u64>().ok();
            Some((f.get(1)?.parse().ok()?, [n(11)?, n(12)?, n(13)?, n(14)?]))
        };
        let (_, own) = stat(&pid.to_string())?;
        let mut ticks: u64 = own.iter().sum();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(name) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some((parent, t)) = stat(name)
                && parent == pid
            {
                ticks += t[0] + t[1];
            }
        }
        Some(ticks)
    }

    /// The port the server listens on (127.0.0.1; kept across [`PostgresNode::stop`] and
    /// [`PostgresNode::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A connection URL for database `database` as the superuser, password included.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{POSTGRES_USER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Whether the server is running (between start and [`PostgresNode::stop`]).
    pub fn is_running(&self) -> bool {
        self.server.is_some()
    }

    /// Creates database `name` (lowercase letters, digits and `_`) and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(err(
                "creating a database",
                format!("{name:?} is not a plain lowercase name"),
            ));
        }
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url(name))
    }

    /// Runs one SQL command with `psql` in `database` and returns what it printed (unaligned,
    /// tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> Result<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", POSTGRES_USER, "-d", database, "-c", sql])
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| err("running psql", e))?;
        if !out.status.success() {
            return Err(err(
                "running psql",
                format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Makes every new transaction on the server read-only (`on`) or writable again, as a
    /// failover to a standby does to a writer: `ALTER SYSTEM` and a reload, no restart.
    pub fn set_read_only(&self, on: bool) -> Result<()> {
        let value = if on { "on" } else { "off" };
        self.psql(
            "postgres",
            &format!("ALTER SYSTEM SET default_transaction_read_only = {value}"),
        )?;
        self.psql("postgres", "SELECT pg_reload_conf()")?;
        Ok(())
    }

    /// Stops the server (fast shutdown: open connections are cut), keeping the cluster for
    /// [`PostgresNode::restart`]. Stopping a stopped node does nothing.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut server) = self.server.take() {
            server
                .control
                .write_all(b"stop\n")
                .map_err(|e| err("stopping the server", e))?;
            drop(server.control);
            server
                .child
                .wait()
                .map_err(|e| err("stopping the server", e))?;
        }
        Ok(())
    }

    /// Starts a stopped server again, on the same port and data.
    pub fn restart(&mut self) -> Result<()> {
        if self.server.is_none() {
            self.start_server()?;
        }
        Ok(())
    }
}

impl Drop for PostgresNode {
    /// Stops the server (end of its supervisor's input) and removes the folder.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let Server { mut child, control } = server;
            drop(control);
            let _ = child.wait();
        }
        // The supervisor removed the folder if it ran; a stopped node's is removed here.
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}
