use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use fairdraw_server::config::Limits;
use fairdraw_server::{AppState, app};
use fairdraw_store::testing::{self, TestDb};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// 2026-01-01T00:00:00Z in Unix milliseconds.
pub const T0: i64 = 1_767_225_600_000;

pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub clock: Arc<AtomicI64>,
    /// An admin key of organisation A.
    pub admin: String,
    pub org: String,
}

pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts a problem+json error with this status; returns the document.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(
            p["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:fairdraw:problem:"))
        );
        assert!(p["title"].is_string() && p["detail"].is_string());
        p
    }
}

impl TestApp {
    pub fn router(&self) -> Router {
        app(self.state.clone()).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
    }

    pub fn set_time(&self, ms: i64) {
        self.clock.store(ms, Ordering::SeqCst);
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Res {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let res = self
            .router()
            .oneshot(b.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Res {
            status,
            headers,
            bytes,
        }
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Res {
        self.send(Method::GET, path, key, &[], Body::empty()).await
    }

    pub async fn post_json(&self, path: &str, key: Option<&str>, body: &Value) -> Res {
        self.send(
            Method::POST,
            path,
            key,
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Res {
        self.send(
            Method::POST,
            path,
            key,
            &[("content-type", content_type)],
            body.into(),
        )
        .await
    }

    /// A new organisation; returns (org id, admin key).
    pub async fn org(&self, name: &str) -> (String, String) {
        let (org, key) = self.db.store.create_org(name, T0).await.expect("org");
        (org.id, key.secret)
    }

    pub async fn key(&self, org: &str, scope: fairdraw_store::Scope) -> String {
        self.db
            .store
            .create_api_key(org, scope, "test", T0)
            .await
            .expect("key")
            .secret
    }

    /// Creates a draft with the README's rules; returns its id.
    pub async fn draft(&self, key: &str, randomness: &str) -> String {
        let r = self
            .post_json("/v1/draws", Some(key), &serde_json::json!({"title": "ACME launch", "rules": rules(), "randomness": randomness}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
        r.json()["id"].as_str().expect("id").to_owned()
    }

    /// Uploads the README's comments and likes.
    pub async fn upload_readme_entries(&self, key: &str, id: &str) {
        let r = self
            .post_raw(
                &format!("/v1/draws/{id}/entries"),
                Some(key),
                "application/x-ndjson",
                COMMENTS,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
        let r = self
            .post_raw(
                &format!("/v1/draws/{id}/entries?collection=likes"),
                Some(key),
                "text/csv",
                LIKES,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
    }

    /// The draw's public bundle, after asserting it verifies against the
    /// organisation's active signing key and the published lock hash.
    pub async fn verified_bundle(&self, id: &str, lock_hash: &str) -> Vec<u8> {
        use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
        use fairdraw_engine::verify::{Expectations, verify_bundle};
        let bundle = self
            .get(&format!("/v1/public/draws/{id}/bundle"), None)
            .await;
        assert_eq!(bundle.status, 200);
        let key = self
            .db
            .store
            .active_signer(&self.org)
            .await
            .expect("signer")
            .info()
            .public_key
            .clone();
        let report = verify_bundle(
            &bundle.bytes,
            &Expectations {
                public_key: Some(parse_hex_exact::<32>(&key).expect("hex")),
                lock_hash: Some(Hash32::from_hex(lock_hash).expect("hash")),
                policy: None,
            },
        );
        assert!(
            report.verified(),
            "{}: {:?}",
            self.db.kind,
            report.first_failure()
        );
        bundle.bytes
    }

    pub async fn cleanup(self) {
        self.db.cleanup().await;
    }
}

pub fn rules() -> Value {
    serde_json::json!({"winners": 1, "alternates": 1, "organizer": "youtube:@acme",
        "keywords": {"any": ["#giveaway"]}, "min_mentions": 1,
        "window": {"from": "2023-01-10T00:00:00Z", "until": "2023-01-21T00:00:00Z"},
        "require_in": ["likes"], "bonus": {"per_extra_mention": 1, "max": 2}})
}

pub const COMMENTS: &str = r##"{"platform":"youtube","user_id":"UC01","handle":"@alice","text":"#giveaway count me in @bob @carol","created_at":"2023-01-12T10:00:00Z","followers":120}
{"platform":"youtube","user_id":"UC02","handle":"@bob","text":"#Giveaway @alice","created_at":"2023-01-13T11:30:00Z","followers":45}
{"platform":"youtube","user_id":"UC03","handle":"@carol","text":"#GIVEAWAY yes please @dave @erin @frank","created_at":"2023-01-14T08:15:00Z","followers":300}
{"platform":"youtube","user_id":"UC04","handle":"@dave","text":"nice product","created_at":"2023-01-14T09:00:00Z","followers":80}
{"platform":"youtube","user_id":"UC05","handle":"@erin","text":"#giveaway @carol","created_at":"2023-01-25T09:00:00Z","followers":10}
{"platform":"youtube","user_id":"UC06","handle":"@acme","text":"#giveaway good luck @alice","created_at":"2023-01-10T09:00:00Z","followers":90000}
{"platform":"youtube","user_id":"UC07","handle":"@frank","text":"#giveaway me! @alice","created_at":"2023-01-15T12:00:00Z","followers":15}
"##;

pub const LIKES: &str = "platform,user_id,handle,created_at\nyoutube,UC01,@alice,2023-01-12T10:01:00Z\nyoutube,UC02,@bob,2023-01-13T11:31:00Z\nyoutube,UC03,@carol,2023-01-14T08:16:00Z\nyoutube,UC05,@erin,2023-01-25T09:01:00Z\n";

async fn make(db: TestDb, limits: Limits) -> TestApp {
    fairdraw_server::init_tracing();
    let clock = Arc::new(AtomicI64::new(T0));
    let c = clock.clone();
    let state = AppState::new(db.store.clone(), limits)
        .with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    let (org, key) = db.store.create_org("ACME", T0).await.expect("org");
    TestApp {
        db,
        state,
        clock,
        admin: key.secret,
        org: org.id,
    }
}

/// Apps on SQLite and (when reachable) PostgreSQL, with generous limits.
pub async fn apps(test: &str) -> Vec<TestApp> {
    apps_with(
        test,
        Limits {
            rate_per_key: 10_000,
            burst_per_key: 10_000,
            rate_per_ip: 10_000,
            burst_per_ip: 10_000,
            ..Limits::default()
        },
    )
    .await
}

pub async fn apps_with(test: &str, limits: Limits) -> Vec<TestApp> {
    let mut out = Vec::new();
    for db in testing::all(test).await {
        out.push(make(db, limits.clone()).await);
    }
    out
}
