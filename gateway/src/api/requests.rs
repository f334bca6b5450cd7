//! Counting the API's requests for `/metrics`: an axum middleware records each response by
//! route template (axum's [`MatchedPath`], never the raw path, so a client cannot grow the label
//! set), method and status code, and the time until the response started.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use causeway_monitoring::{ApiRouteFigures, Histogram};
use causeway_relayer::pipeline::LATENCY_BUCKETS;

/// The route label of a request no route matched (404s of unknown paths, probes).
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug, Default)]
struct Route {
    statuses: BTreeMap<u16, u64>,
    /// Responses at or below each bound of [`LATENCY_BUCKETS`] (not cumulative).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The API's request counts since the gateway started, shared by the middleware (which
/// writes) and the `/metrics` snapshot (which reads). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct ApiRequests(Arc<Mutex<BTreeMap<(String, &'static str), Route>>>);

/// A method as a fixed label word (a client's made-up method is `other`).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl ApiRequests {
    /// Counts one response of `status` on `route` (a template) for `method`, started `secs`
    /// after the request arrived.
    pub fn record(&self, route: &str, method: &Method, status: u16, secs: f64) {
        if !causeway_adapters::metrics::updates_enabled() {
            return;
        }
        let mut routes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = routes
            .entry((route.to_owned(), method_label(method)))
            .or_default();
        *entry.statuses.entry(status).or_default() += 1;
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            entry.buckets[i] += 1;
        }
        entry.count += 1;
        entry.sum_seconds += secs;
    }

    /// The figures now, by route and method.
    pub fn snapshot(&self) -> Vec<ApiRouteFigures> {
        let routes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        routes
            .iter()
            .map(|((route, method), r)| {
                let mut running = 0u64;
                ApiRouteFigures {
                    route: route.clone(),
                    method,
                    statuses: r.statuses.iter().map(|(s, n)| (*s, *n)).collect(),
                    latency: Histogram {
                        buckets: LATENCY_BUCKETS
                            .iter()
                            .zip(&r.buckets)
                            .map(|(bound, n)| {
                                running += n;
                                (*bound, running)
                            })
                            .collect(),
                        count: r.count,
                        sum_seconds: r.sum_seconds,
                    },
                }
            })
            .collect()
    }
}

/// The middleware: runs the request and counts its response (see [`ApiRequests`]).
pub async fn count(requests: ApiRequests, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    requests.record(
        route.as_deref().unwrap_or(UNMATCHED),
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn responses_are_counted_per_route_method_and_status() {
        let r = ApiRequests::default();
        r.record("/v1/messages/{id}", &Method::GET, 200, 0.002);
        r.record("/v1/messages/{id}", &Method::GET, 404, 0.2);
        r.record(UNMATCHED, &Method::from_bytes(b"BREW").unwrap(), 404, 0.0);
        let s = r.snapshot();
        assert_eq!(s.len(), 2);
        let messages = s.iter().find(|f| f.route == "/v1/messages/{id}").unwrap();
        assert_eq!(messages.method, "GET");
        assert_eq!(messages.statuses, vec![(200, 1), (404, 1)]);
        assert_eq!(messages.latency.count, 2);
        assert_eq!(messages.latency.buckets[1], (0.0025, 1));
        assert_eq!(messages.latency.buckets.last(), Some(&(30.0, 2)));
        let other = s.iter().find(|f| f.route == UNMATCHED).unwrap();
        assert_eq!(other.method, "other");
    }
}
