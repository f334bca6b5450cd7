//! The status page in a real browser: headless Chromium (Debian's package, installed by
//! scripts/setup.sh) loads `/ui` from a running consortium's gateway (three `causeway run`
//! processes over two anvil chains, as in the `consortium` test), and what the page shows is
//! checked against the API: every lane's backlog and threshold checkpoint, every validator's
//! last signature, the chains, the recent messages; then new messages arrive through the
//! page's event stream without a reload, a message's status history opens, and a screenshot
//! is saved to `$CARGO_TARGET_TMPDIR/ui-browser/status-page.png` (target/tmp/ui-browser/).
//!
//! Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: it
//! reads commands on its fd 3 and answers on fd 4, which a shell maps onto its stdin and
//! stdout), so the test needs no WebSocket client. Running as root needs `--no-sandbox`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alloy::transports::http::reqwest;
use base64::Engine as _;
use causeway_config::Config;
use causeway_devnet::fixtures::Committee;
use serde_json::{Value, json};

use crate::consortium::{COMMITTEE, Member, chains, dispatch, members, wait_delivered};
use crate::support::{causeway, text};

/// Where Chromium is: `$CAUSEWAY_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    std::env::var_os("CAUSEWAY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The longest any one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium driven over its DevTools pipe, attached to one page.
struct Browser {
    child: Child,
    commands: ChildStdin,
    replies: mpsc::Receiver<Value>,
    next_id: u64,
    session: String,
}

impl Browser {
    /// Starts Chromium (profile in `profile`) and opens `url` in a new page.
    fn open(profile: &Path, url: &str) -> Browser {
        let bin = chromium();
        assert!(
            bin.exists(),
            "chromium not found at {}: run scripts/setup.sh (installs Debian's pinned chromium) \
             or set CAUSEWAY_CHROMIUM",
            bin.display()
        );
        // fd 3 and 4 are the protocol's pipe: the shell points them at our stdin and stdout.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--remote-debugging-pipe",
                "--window-size=1400,1300",
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(profile.join("chromium.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let commands = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            loop {
                let mut buf = Vec::new();
                match out.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            commands,
            replies,
            next_id: 0,
            session: String::new(),
        };
        let target = browser.call("Target.createTarget", json!({ "url": url }), false);
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
            false,
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser
    }

    /// Sends `method` (to the page when `page`, else to the browser) and waits for its result.
    fn call(&mut self, method: &str, params: Value, page: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if page {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        self.commands.flush().unwrap();
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = self
                .replies
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("{method}: no answer from chromium ({e})"));
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            true,
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// What the page shows, read from its DOM.
    fn shown(&mut self) -> Value {
        self.eval(SHOWN)
    }

    /// Saves a PNG of the page to `path`.
    fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
            true,
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The page's tables and badges as JSON (cells by their `data-field`); null while it loads.
const SHOWN: &str = r#"(() => {
  if (document.readyState === 'loading' || !document.getElementById('live')) return null;
  const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')];
  const f = (r, name) => { const c = r.querySelector('[data-field="' + name + '"]'); return c ? c.textContent : null; };
  return {
    live: document.getElementById('live').dataset.state,
    login: !document.getElementById('login').hidden,
    error: document.getElementById('error').textContent,
    alerts: Number(document.getElementById('alerts').dataset.count),
    chains: rows('chains').map((r) => ({ name: r.dataset.chain, domain: f(r, 'domain'), status: f(r, 'status') })),
    lanes: rows('lanes').map((r) => ({
      name: r.dataset.lane, log_size: f(r, 'log_size'), pending: f(r, 'pending'), leased: f(r, 'leased'),
      submitted: f(r, 'submitted'), confirmed: f(r, 'confirmed'), dead_letter: f(r, 'dead_letter'),
      checkpoint: r.querySelector('[data-field="checkpoint"]').dataset.size || null,
    })),
    validators: rows('validators').map((r) => ({
      lane: r.dataset.lane, member: r.dataset.member, address: f(r, 'address'),
      checkpoints_signed: f(r, 'checkpoints_signed'), last_signed_size: f(r, 'last_signed_size'), state: f(r, 'state'),
    })),
    recent: rows('recent').map((r) => r.dataset.id),
    message: document.getElementById('message').hidden ? null : {
      id: document.getElementById('message').dataset.id,
      history: [...document.querySelectorAll('#message-history li')].map((li) => li.dataset.status),
      proof_enabled: !document.getElementById('proof').disabled,
    },
  };
})()"#;

/// What the page should show of `lanes` (the API's `/v1/lanes`), in the page's shape.
fn expected_lanes(lanes: &Value) -> (Value, Value) {
    let dash = |v: &Value| match v {
        Value::Null => json!("\u{2014}"),
        v => json!(v.to_string()),
    };
    let mut rows = Vec::new();
    let mut validators = Vec::new();
    for l in lanes["lanes"].as_array().unwrap() {
        let b = &l["backlog"];
        rows.push(json!({
            "name": l["name"], "log_size": dash(&l["log_size"]), "pending": dash(&b["pending"]),
            "leased": dash(&b["leased"]), "submitted": dash(&b["submitted"]),
            "confirmed": dash(&b["confirmed"]), "dead_letter": dash(&b["dead_letter"]),
            "checkpoint": match &l["threshold_checkpoint"] {
                Value::Null => Value::Null,
                cp => json!(cp["size"].to_string()),
            },
        }));
        for v in l["validators"].as_array().unwrap() {
            validators.push(json!({
                "lane": l["name"], "member": v["member"], "address": v["address"],
                "checkpoints_signed": dash(&v["checkpoints_signed"]),
                "last_signed_size": dash(&v["last_signed_size"]),
                "state": if v["equivocated"] == true { "equivocated" } else { "ok" },
            }));
        }
    }
    (json!(rows), json!(validators))
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let resp = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.json().await.unwrap()
}

/// Polls `probe` every 250 ms until it answers, or fails with `what` and the last value seen.
async fn until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(
            Instant::now() < deadline,
            "{what} within {timeout:?}; last seen:\n{last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn check_running(members: &mut [Member]) {
    for m in members {
        m.assert_running();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_chromium_shows_what_the_api_says_and_follows_the_event_stream() {
    let started = Instant::now();
    let committee = Committee::new(COMMITTEE, 3, 2);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    let mut members = members(dir.path(), &devnet, &committee);
    for m in &mut members {
        m.start();
    }
    let a_to_b = dispatch(&devnet.a, &devnet.b, 6, "ui a-b").await;
    let b_to_a = dispatch(&devnet.b, &devnet.a, 3, "ui b-a").await;
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;

    // A read token of org1's gateway, made with the CLI like an operator would.
    let config = members[0].config();
    let out = causeway(&[
        "token",
        "create",
        "--config",
        config.to_str().unwrap(),
        "--name",
        "status-page",
        "--scope",
        "read",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("cwt_"))
        .expect("the token on stdout")
        .trim()
        .to_owned();
    let api = format!("http://{}", Config::load(&config).unwrap().api().listen);
    let client = reqwest::Client::new();
    // org1's store has seen every delivery (its own or another member's).
    until(
        "org1's store to show every message confirmed",
        Duration::from_secs(90),
        async || {
            check_running(&mut members);
            let lanes = get(&client, &format!("{api}/v1/lanes"), &token).await;
            let confirmed: Vec<u64> = lanes["lanes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["backlog"]["confirmed"].as_u64().unwrap())
                .collect();
            (confirmed == [6, 3]).then_some(()).ok_or(lanes.to_string())
        },
    )
    .await;

    let profile = tempfile::tempdir().unwrap();
    let mut browser = Browser::open(profile.path(), &format!("{api}/ui#token={token}"));

    // 1. The page shows what the API says: chains, lanes, validators, recent messages.
    let chains_api = get(&client, &format!("{api}/v1/chains"), &token).await;
    let shown = until(
        "the page to match /v1/lanes",
        Duration::from_secs(30),
        async || {
            let lanes = get(&client, &format!("{api}/v1/lanes"), &token).await;
            let (rows, validators) = expected_lanes(&lanes);
            let shown = browser.shown();
            (shown["lanes"] == rows
                && shown["validators"] == validators
                && !shown["recent"].as_array().unwrap().is_empty())
            .then(|| shown.clone())
            .ok_or(format!("page: {shown}\napi: {lanes}"))
        },
    )
    .await;
    assert_eq!(shown["login"], false, "{shown}");
    assert_eq!(shown["error"], "", "{shown}");
    let names: Vec<&Value> = chains_api["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    let shown_names: Vec<&Value> = shown["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(shown_names, names, "{shown}");
    for c in shown["chains"].as_array().unwrap() {
        assert_eq!(c["status"], "up", "{shown}");
    }
    assert_eq!(
        shown["alerts"], 0,
        "a healthy consortium has no alert: {shown}"
    );
    // Every validator of both lanes signed (all three members attest).
    assert_eq!(shown["validators"].as_array().unwrap().len(), 6, "{shown}");
    let activity = get(&client, &format!("{api}/v1/activity?limit=100"), &token).await;
    let recent_api: Vec<&Value> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    let recent_shown: Vec<&Value> = shown["recent"].as_array().unwrap().iter().collect();
    assert_eq!(
        recent_shown,
        recent_api[..recent_shown.len()],
        "the page lists the latest status changes, newest first"
    );
    for id in a_to_b.iter().chain(&b_to_a) {
        assert!(
            recent_shown.contains(&&json!(id.to_string())),
            "{id} not among the recent messages: {shown}"
        );
    }
    let live = until(
        "the event stream to open",
        Duration::from_secs(15),
        async || {
            let s = browser.shown();
            (s["live"] == "live").then_some(()).ok_or(s.to_string())
        },
    );
    live.await;

    // 2. New messages reach the page through the event stream, without a reload.
    let more = dispatch(&devnet.a, &devnet.b, 2, "ui a-b live").await;
    // (It mines blocks until they are delivered: a message is final one block later.)
    wait_delivered(&devnet, &mut members, &more, &[], Duration::from_secs(120)).await;
    let shown = until(
        "the new messages on the page",
        Duration::from_secs(90),
        async || {
            check_running(&mut members);
            let s = browser.shown();
            let lane = &s["lanes"][0];
            (more.iter().all(|id| {
                s["recent"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(id.to_string()))
            }) && lane["confirmed"] == "8")
                .then(|| s.clone())
                .ok_or(s.to_string())
        },
    )
    .await;
    assert_eq!(shown["lanes"][0]["name"], "alpha-to-beta");

    // 3. A message's status history, as the API has it, and its proof bundle's button.
    let id = more[0].to_string();
    let message = until(
        "the message's history to settle",
        Duration::from_secs(30),
        async || {
            let m = get(&client, &format!("{api}/v1/messages/{id}"), &token).await;
            (m["state"] == "confirmed" && !m["attested"].is_null())
                .then(|| m.clone())
                .ok_or(m.to_string())
        },
    )
    .await;
    browser.eval(&format!(
        "document.querySelector('#recent tbody tr[data-id=\"{id}\"]').click()"
    ));
    let history: Vec<Value> = message["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].clone())
        .collect();
    let opened = until("the message to open", Duration::from_secs(15), async || {
        let s = browser.shown();
        (s["message"]["id"] == json!(id) && s["message"]["history"] == json!(history))
            .then(|| s.clone())
            .ok_or(format!("page: {s}\napi history: {history:?}"))
    })
    .await;
    assert_eq!(opened["message"]["proof_enabled"], true, "{opened}");
    // The proof the button downloads is the API's bundle (fetched the page's way).
    let bundle = browser.eval(&format!(
        "fetch('/v1/messages/{id}/proof', {{ headers: {{ Authorization: 'Bearer ' + sessionStorage.getItem('causeway-token') }} }}).then((r) => r.json())"
    ));
    assert_eq!(
        bundle,
        get(&client, &format!("{api}/v1/messages/{id}/proof"), &token).await
    );
    // The token left the address bar at once.
    assert_eq!(browser.eval("location.hash"), "");

    // 4. A screenshot for people.
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-browser");
    std::fs::create_dir_all(&out).unwrap();
    let png = out.join("status-page.png");
    browser.screenshot(&png);
    eprintln!(
        "status page screenshot: {} ({} bytes); test took {:?}",
        png.display(),
        std::fs::metadata(&png).unwrap().len(),
        started.elapsed()
    );
    drop(browser);
    for m in &mut members {
        assert!(m.terminate().success(), "{}", m.log());
    }
}
