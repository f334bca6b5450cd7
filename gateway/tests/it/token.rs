//! `causeway token create/list/revoke` on a gateway's store while the API serves from it: the
//! token is printed once and works at once, only its hash is stored, a revoked token is refused
//! at the next request, every change is audited, and bad input stores nothing.

use std::sync::Arc;

use causeway_devnet::fixtures::Committee;
use causeway_gateway::api::auth::hash_of;
use causeway_gateway::api::{self, ApiState};
use causeway_relayer::store::{ApiStore, Scope, SqliteStore, Store};
use tokio_util::sync::CancellationToken;

use crate::config_check::Org;
use crate::support::{causeway, text};

#[tokio::test]
async fn tokens_are_made_listed_and_revoked_beside_a_serving_gateway() {
    let org = Org::new(&Committee::new("token-cli", 3, 2));
    let config = org.write_config(&org.gateway_toml(&Committee::new("token-cli", 3, 2), None));
    let config = config.to_str().unwrap();

    // Refused input stores nothing (and creates no token).
    for bad in [
        vec!["--scope", "read,root"],
        vec!["--scope", "read", "--expires-in", "30w"],
        vec!["--scope", ""],
    ] {
        let mut args = vec!["token", "create", "--config", config, "--name", "app"];
        args.extend(bad.iter().copied());
        let out = causeway(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        assert!(out.stdout.is_empty(), "{}", text(&out));
    }

    let out = causeway(&[
        "token",
        "create",
        "--config",
        config,
        "--name",
        "app",
        "--scope",
        "read,admin",
        "--expires-in",
        "30d",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let token = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.starts_with("cwt_"), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown once"));

    // The gateway's store has its hash, never the token.
    let db = org.path().join("data/causeway.sqlite");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let stored = store.tokens().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, "app");
    assert_eq!(stored[0].scopes, vec![Scope::Read, Scope::Admin]);
    assert_eq!(Some(stored[0].hash), hash_of(&token));
    let expiry = stored[0].expires_at.unwrap().0 - stored[0].created_at.0;
    assert_eq!(expiry, 30 * 86_400_000);

    // The API serving from the same file accepts it.
    let cancel = CancellationToken::new();
    let dyn_store: Arc<dyn Store> = store.clone();
    let (router, _) = api::router(ApiState::new(dyn_store, vec![], vec![], cancel.clone()));
    let server = api::server::serve("127.0.0.1:0".parse().unwrap(), None, router, cancel.clone())
        .await
        .unwrap();
    let url = format!("http://{}/v1/messages", server.local_addr());
    let client = alloy::transports::http::reqwest::Client::new();
    let status = |t: String| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(token.clone()).await, 200);

    let out = causeway(&["token", "list", "--config", config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("app") && listed.contains("read,admin"),
        "{listed}"
    );
    assert!(listed.contains("live, expires"), "{listed}");
    assert!(
        !listed.contains(&token[4..]),
        "list shows the secret: {listed}"
    );

    let id = stored[0].id.to_string();
    let out = causeway(&["token", "revoke", "--config", config, &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        status(token.clone()).await,
        401,
        "revoked while the API runs"
    );
    let out = causeway(&["token", "list", "--config", config]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("revoked at"),
        "{}",
        text(&out)
    );
    let out = causeway(&["token", "revoke", "--config", config, "99"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no API token 99"),
        "{}",
        text(&out)
    );

    let trail = store.audit_trail(0, 10).unwrap();
    let rows: Vec<(&str, String)> = trail
        .iter()
        .map(|r| (r.action.as_str(), r.target.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("token.create", format!("token:{id}:app")),
            ("token.revoke", format!("token:{id}:app")),
        ]
    );
    assert!(
        trail.iter().all(|r| r.actor.starts_with("cli")),
        "{trail:?}"
    );
    cancel.cancel();
    server.join().await;
    // Read the file only once SQLite has closed it (another open and close of the same file
    // in this process would drop SQLite's POSIX locks on it).
    drop(store);
    let raw = std::fs::read(&db).unwrap();
    assert!(
        !raw.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token itself is in the store file"
    );
}
