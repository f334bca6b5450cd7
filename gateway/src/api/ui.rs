//! `/ui`: the gateway's status page, a small static bundle (HTML, CSS, one script) compiled
//! into the binary, so there is nothing to install, no build step and nothing loaded from
//! anywhere else. The page holds no data: it reads `/v1` with the operator's bearer token
//! (see `ui/app.js` for how the token is handled) and follows `/v1/events`.
//!
//! Every response carries a strict Content-Security-Policy: scripts, styles and connections
//! only from this origin, no inline script or style, no frames, no plugins, no form posts, no
//! `<base>`; so even a value that slipped into the page as markup could not run or leak.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ApiState;

/// The page's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                       frame-ancestors 'none'";

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/app.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The page's routes (no token needed: they serve the same static files to everyone).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/ui", get(index))
        .route("/ui/app.js", get(script))
        .route("/ui/app.css", get(style))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_runs_no_inline_code() {
        for (name, text) in [
            ("index.html", INDEX),
            ("app.js", SCRIPT),
            ("app.css", STYLE),
        ] {
            for outside in ["http://", "https://", "//cdn", "@import", "url("] {
                assert!(!text.contains(outside), "{name} mentions {outside}");
            }
        }
        assert!(
            !INDEX.contains("<script>"),
            "an inline script would be refused by the CSP"
        );
        assert!(
            !INDEX.contains("style="),
            "an inline style would be refused by the CSP"
        );
        assert!(
            !INDEX.contains("<style"),
            "an inline style would be refused by the CSP"
        );
        assert!(
            !SCRIPT.contains("innerHTML"),
            "values are written as text, never markup"
        );
        assert!(!SCRIPT.contains("eval("));
        assert!(
            !SCRIPT.contains("new EventSource"),
            "it cannot send the token"
        );
        assert!(CSP.contains("default-src 'none'") && CSP.contains("script-src 'self'"));
    }
}
