//! Prometheus metrics: requests by route and status, a latency histogram
//! per route, draws by state, and per organisation (label `org`, the org
//! id) draws by state, usage against quotas and the time from lock to
//! execution. The database figures are read at scrape time, so every
//! replica reports the same ones and a restart loses nothing; the reads
//! stay cheap however many entries there are: one grouped count over the
//! `(org_id, state)` index and the `org_usage` table, one row per
//! organisation, whose counters are kept in the transactions of the
//! effects they count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use fairdraw_store::{OrgStats, QuotaKind};

use crate::state::AppState;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and latency histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// Records one request.
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_owned()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// The Prometheus text exposition, with `draws` (state → count) and
    /// each organisation's figures appended.
    pub fn render(&self, draws: &[(String, i64)], orgs: &[OrgStats]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP fairdraw_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE fairdraw_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, s), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "fairdraw_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP fairdraw_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE fairdraw_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                let route = escape(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "fairdraw_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "fairdraw_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "fairdraw_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "fairdraw_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        out.push_str("# HELP fairdraw_draws Draws by state (whole database).\n");
        out.push_str("# TYPE fairdraw_draws gauge\n");
        for (state, n) in draws {
            let _ = writeln!(out, "fairdraw_draws{{state=\"{state}\"}} {n}");
        }
        render_orgs(&mut out, orgs);
        out
    }
}

fn render_orgs(out: &mut String, orgs: &[OrgStats]) {
    out.push_str("# HELP fairdraw_org_draws Draws by organisation and state.\n");
    out.push_str("# TYPE fairdraw_org_draws gauge\n");
    for o in orgs {
        let org = escape(&o.usage.org_id);
        for (state, n) in &o.draws_by_state {
            let _ = writeln!(
                out,
                "fairdraw_org_draws{{org=\"{org}\",state=\"{state}\"}} {n}"
            );
        }
    }
    out.push_str(
        "# HELP fairdraw_org_usage_total Usage counted against the quotas, by organisation and resource (draws created, entries imported, executions).\n",
    );
    out.push_str("# TYPE fairdraw_org_usage_total counter\n");
    for o in orgs {
        let org = escape(&o.usage.org_id);
        for kind in QuotaKind::ALL {
            let _ = writeln!(
                out,
                "fairdraw_org_usage_total{{org=\"{org}\",resource=\"{kind}\"}} {}",
                o.usage.used(kind)
            );
        }
    }
    out.push_str(
        "# HELP fairdraw_org_quota Quotas by organisation and resource (absent when unlimited).\n",
    );
    out.push_str("# TYPE fairdraw_org_quota gauge\n");
    for o in orgs {
        let org = escape(&o.usage.org_id);
        for kind in QuotaKind::ALL {
            if let Some(limit) = o.usage.limit(kind) {
                let _ = writeln!(
                    out,
                    "fairdraw_org_quota{{org=\"{org}\",resource=\"{kind}\"}} {limit}"
                );
            }
        }
    }
    out.push_str(
        "# HELP fairdraw_org_lock_to_execution_seconds Time from lock to execution of executed draws, by organisation (the mean is _sum / _count).\n",
    );
    out.push_str("# TYPE fairdraw_org_lock_to_execution_seconds summary\n");
    for o in orgs {
        let org = escape(&o.usage.org_id);
        let _ = writeln!(
            out,
            "fairdraw_org_lock_to_execution_seconds_sum{{org=\"{org}\"}} {}",
            o.usage.lock_to_execution_ms as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "fairdraw_org_lock_to_execution_seconds_count{{org=\"{org}\"}} {}",
            o.usage.executions
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware recording every request under its route template (never the
/// raw path, so ids do not explode the label set).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let res = next.run(req).await;
    state.metrics.record(
        &method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}
