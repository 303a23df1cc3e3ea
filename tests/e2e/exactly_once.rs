//! Issue 9, "Exactly once, proven by tests", with real `fairdraw serve`
//! processes (the `fairdraw` binary under test), a mock drand relay serving
//! real recorded quicknet beacons, and the database counted directly:
//!
//! - 100 concurrent `execute` calls on one server: one 200, 99 409s carrying
//!   the stored result, one execution receipt;
//! - two servers on one PostgreSQL, both running workers, 50 drand draws
//!   due at the same time: each executed once, the work split between them;
//! - `kill -9` of a server in the middle of an execution (the dev-only
//!   `--dev-execute-hold-ms` pauses the first execution after it signed its
//!   receipt and before it stores it, and says so on stderr), then a
//!   restart: the new process takes the job over when its lease expires;
//! - the worker's PostgreSQL connection terminated (`pg_terminate_backend`)
//!   while it holds the execution's transaction: the job is retried.
//!
//! Each ends with exactly one execution receipt per draw (the
//! `draw_executions` row and the `execution` entry of the transparency log,
//! counted in the database) and `fairdraw verify URL --key` re-deriving
//! the winners the bundle records. The servers replay the recorded round
//! with `--dev-clock-start` a few seconds before it, and fetch it through
//! the real `drand` plugin from `FAIRDRAW_DRAND_RELAYS=https://api.drand.sh`,
//! which `FAIRDRAW_DEV_ORIGIN_MAP` sends to the mock relay.
//!
//! The PostgreSQL scenarios use a fresh database on
//! `FAIRDRAW_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and print `skipping PostgreSQL: …` when it is unreachable.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fairdraw_engine::randomness::drand as engine_drand;
use fairdraw_engine::time::Timestamp;
use fairdraw_tests::mock::drand;
use serde_json::{Value, json};

use crate::bin::{fairdraw, workspace};

/// The recorded quicknet round every drand draw here declares.
const ROUND: u64 = 123;
/// The relay every server is given (the dev origin map sends it to the mock).
const RELAY: &str = "https://api.drand.sh";
/// The line `--dev-execute-hold-ms` logs when the pause starts.
const HOLDING: &str = "dev: holding the execution claim";

/// Unix milliseconds of [`ROUND`].
fn round_due() -> i64 {
    let chain = engine_drand::chain("quicknet").expect("quicknet");
    chain.round_time(ROUND).unix() * 1000
}

/// A data directory with the real `drand` plugin installed (built from
/// plugins/ once per run; a no-op when current).
fn data_dir_with_drand(dir: &Path) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let root = workspace();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(&cargo)
            .args([
                "build",
                "--manifest-path",
                "plugins/Cargo.toml",
                "--target",
                "wasm32-wasip2",
                "--release",
                "-p",
                "drand",
                "--target-dir",
            ])
            .arg(root.join("plugins/target"))
            .current_dir(&root)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the drand plugin failed");
    });
    let data = dir.join("data");
    let out = Command::new(fairdraw())
        .args(["plugin", "install", "plugins/drand", "--data-dir"])
        .arg(&data)
        .current_dir(&root)
        .env_remove("FAIRDRAW_DATA_DIR")
        .output()
        .expect("run fairdraw plugin install");
    assert!(
        out.status.success(),
        "plugin install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    data
}

/// Where a scenario's servers keep their state.
#[derive(Clone, Debug)]
enum Database {
    /// The data directory's SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres(Pg),
}

/// A fresh PostgreSQL database, dropped on [`Pg::drop_db`].
#[derive(Clone, Debug)]
struct Pg {
    admin_url: String,
    name: String,
    url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl Pg {
    /// A fresh database, or why there is none.
    fn fresh(test: &str) -> Result<Pg, String> {
        use sqlx::Connection;
        let admin_url = std::env::var("FAIRDRAW_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("fdonce_{test}_{}_{:08x}", std::process::id(), rand_u32());
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => return Err(format!("{admin_url} names no database")),
        };
        runtime().block_on(async {
            let mut c = tokio::time::timeout(
                Duration::from_secs(5),
                sqlx::PgConnection::connect(&admin_url),
            )
            .await
            .map_err(|_| format!("{admin_url} did not answer within 5 s"))?
            .map_err(|e| format!("{admin_url} is unreachable: {e}"))?;
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .await
                .map_err(|e| format!("cannot create a database on {admin_url}: {e}"))?;
            Ok(Pg {
                admin_url: admin_url.clone(),
                name: name.clone(),
                url,
            })
        })
    }

    /// Rows of text columns from the test database.
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        use sqlx::Connection;
        runtime().block_on(async {
            let mut c = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect to the test database");
            texts(&sqlx::query(sql).fetch_all(&mut c).await.expect(sql))
        })
    }

    fn drop_db(&self) {
        use sqlx::Connection;
        runtime().block_on(async {
            if let Ok(mut c) = sqlx::PgConnection::connect(&self.admin_url).await {
                let _ = sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .execute(&mut c)
                .await;
            }
        });
    }
}

/// Every column of every row as text (NULL and non-text columns as "").
fn texts<R: sqlx::Row>(rows: &[R]) -> Vec<Vec<String>>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut b);
    }
    u32::from_le_bytes(b)
}

impl Database {
    /// Rows of text columns (every selected column cast to text).
    fn rows(&self, data_dir: &Path, sql: &str) -> Vec<Vec<String>> {
        match self {
            Database::Postgres(pg) => pg.rows(sql),
            Database::Sqlite => {
                use sqlx::ConnectOptions;
                let file = data_dir.join("fairdraw.sqlite3");
                assert!(file.is_file(), "no SQLite database at {}", file.display());
                runtime().block_on(async {
                    let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(&file)
                        .read_only(true)
                        .connect()
                        .await
                        .expect("open the SQLite database");
                    texts(&sqlx::query(sql).fetch_all(&mut c).await.expect(sql))
                })
            }
        }
    }

    /// Per draw: (`draw_executions` rows, `execution` log entries).
    fn receipts(&self, data_dir: &Path, ids: &[String]) -> BTreeMap<String, (usize, usize)> {
        let list = ids
            .iter()
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",");
        let mut out: BTreeMap<String, (usize, usize)> =
            ids.iter().map(|i| (i.clone(), (0, 0))).collect();
        for r in self.rows(
            data_dir,
            &format!("SELECT draw_id FROM draw_executions WHERE draw_id IN ({list})"),
        ) {
            out.entry(r[0].clone()).or_default().0 += 1;
        }
        for r in self.rows(
            data_dir,
            &format!(
                "SELECT draw_id FROM log_entries WHERE kind = 'execution' AND draw_id IN ({list})"
            ),
        ) {
            out.entry(r[0].clone()).or_default().1 += 1;
        }
        out
    }

    /// The draw's `execute_draw` job once it is no longer `running` (the
    /// draw is stored executed just before its job is marked done).
    fn finished_execute_job(&self, data_dir: &Path, id: &str) -> (String, i64, String, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let job = self.execute_job(data_dir, id);
            if job.0 != "running" || Instant::now() > deadline {
                return job;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The draw's `execute_draw` job: (state, attempts, worker, last error).
    fn execute_job(&self, data_dir: &Path, id: &str) -> (String, i64, String, String) {
        let rows = self.rows(
            data_dir,
            &format!(
                "SELECT state, CAST(attempts AS TEXT), locked_by, last_error FROM jobs \
                 WHERE draw_id = '{id}' AND kind = 'execute_draw'"
            ),
        );
        assert_eq!(rows.len(), 1, "one execute_draw job for {id}: {rows:?}");
        let r = &rows[0];
        (
            r[0].clone(),
            r[1].parse().expect("attempts"),
            r[2].clone(),
            r[3].clone(),
        )
    }
}

/// Asserts exactly one receipt of each kind for every draw.
fn assert_one_receipt_each(db: &Database, data_dir: &Path, ids: &[String]) -> usize {
    let receipts = db.receipts(data_dir, ids);
    let wrong: Vec<_> = receipts.iter().filter(|(_, n)| **n != (1, 1)).collect();
    assert!(
        wrong.is_empty(),
        "draws without exactly one execution receipt (draw_executions rows, log entries): {wrong:?}"
    );
    receipts.len()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `fairdraw serve`, killed (SIGKILL) when dropped. Its stdout
/// and stderr are drained by threads (a closed pipe would kill it); the
/// stderr lines are kept for [`Server::wait_for_line`].
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start a server.
struct Start<'a> {
    data_dir: &'a Path,
    db: &'a Database,
    relay: &'a str,
    /// `--dev-clock-start`, Unix milliseconds.
    clock: i64,
    workers: usize,
    hold_ms: u64,
}

impl Server {
    fn start(s: &Start<'_>) -> Server {
        let port = free_port();
        let mut cmd = Command::new(fairdraw());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FAIRDRAW_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["serve", "--dev", "--listen", &format!("127.0.0.1:{port}")])
            .env("FAIRDRAW_DATA_DIR", s.data_dir)
            .env(
                "FAIRDRAW_DEV_CLOCK_START",
                Timestamp::from_unix(s.clock.div_euclid(1000)).to_string(),
            )
            .env(
                "FAIRDRAW_DEV_ORIGIN_MAP",
                format!("{}={}", drand::PRODUCTION_ORIGIN, s.relay),
            )
            .env("FAIRDRAW_DRAND_RELAYS", RELAY)
            .env("FAIRDRAW_WORKERS", s.workers.to_string())
            .env("FAIRDRAW_JOB_LEASE_SECONDS", "3")
            .env("FAIRDRAW_DEV_EXECUTE_HOLD_MS", s.hold_ms.to_string())
            .env("FAIRDRAW_LOG_LOCK_WAIT_MS", "0")
            .env("FAIRDRAW_RATE_PER_KEY", "100000")
            .env("FAIRDRAW_BURST_PER_KEY", "100000")
            .env("FAIRDRAW_RATE_PER_IP", "100000")
            .env("FAIRDRAW_BURST_PER_IP", "100000")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
            .env_remove("FAIRDRAW_MASTER_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match s.db {
            Database::Sqlite => cmd.env_remove("DATABASE_URL"),
            Database::Postgres(pg) => cmd.env("DATABASE_URL", &pg.url),
        };
        let mut child = cmd.spawn().expect("start fairdraw serve");
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(
            move || {
                for _ in BufReader::new(stdout).lines().map_while(Result::ok) {}
            },
        );
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let keep = lines.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut v) = keep.lock() {
                    v.push(l);
                }
            }
        });
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr: lines,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while call("GET", &format!("{}/healthz", server.base), None, None).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "the server did not start:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn log(&self) -> String {
        self.stderr.lock().map(|v| v.join("\n")).unwrap_or_default()
    }

    /// Waits until a stderr line contains `needle`; returns that line.
    fn wait_for_line(&self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(l) = self
                .stderr
                .lock()
                .ok()
                .and_then(|v| v.iter().find(|l| l.contains(needle)).cloned())
            {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no `{needle}` on stderr within {secs} s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`.
    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// One HTTP call: (status, body).
fn call(method: &str, url: &str, key: Option<&str>, body: Option<(&str, &[u8])>) -> (u16, String) {
    let agent = agent();
    let auth = key.map(|k| format!("Bearer {k}"));
    let res = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.call()
        }
        (_, b) => {
            let (ct, bytes) = b.unwrap_or(("application/json", b"{}"));
            let mut r = agent.post(url).header("content-type", ct);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.send(bytes)
        }
    };
    match res {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// An organisation, made with `fairdraw admin`: its admin API key and its
/// signing public key (hex).
fn create_org(data_dir: &Path, db: &Database) -> (String, String) {
    let mut cmd = Command::new(fairdraw());
    cmd.args(["admin", "--dev", "--data-dir"])
        .arg(data_dir)
        .args(["create-org", "--name", "exactly-once"])
        .env_remove("FAIRDRAW_MASTER_KEY")
        .env_remove("FAIRDRAW_DATA_DIR");
    match db {
        Database::Sqlite => cmd.env_remove("DATABASE_URL"),
        Database::Postgres(pg) => cmd.env("DATABASE_URL", &pg.url),
    };
    let out = cmd.output().expect("fairdraw admin");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no `{label}` line: {stdout}"))
            .to_owned()
    };
    (after("API key:"), after("Signing key:"))
}

/// Each pick's `leaf_index:handle`; panics on a pick without them.
fn handles(picks: &Value) -> Vec<String> {
    let picks = picks.as_array().expect("picks");
    picks
        .iter()
        .map(
            |p| match (p["leaf_index"].as_u64(), p["entry"]["handle"].as_str()) {
                (Some(i), Some(h)) if !h.is_empty() => format!("{i}:{h}"),
                _ => panic!("a pick without its leaf index and handle: {p}"),
            },
        )
        .collect()
}

/// A draft with the fixture's entries; returns its id.
fn draft(base: &str, key: &str, randomness: &str) -> String {
    let fixture = workspace().join("tests/fixtures/giveaway");
    let rules: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("rules.json")).expect("rules"))
            .expect("rules JSON");
    let body =
        json!({"title": "exactly once", "rules": rules, "randomness": randomness}).to_string();
    let (s, b) = call(
        "POST",
        &format!("{base}/v1/draws"),
        Some(key),
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(s, 201, "{b}");
    let id = json_of(&b)["id"].as_str().expect("id").to_owned();
    let comments = std::fs::read(fixture.join("comments.jsonl")).expect("comments");
    let likes = std::fs::read(fixture.join("likes.csv")).expect("likes");
    let (s, b) = call(
        "POST",
        &format!("{base}/v1/draws/{id}/entries"),
        Some(key),
        Some(("application/x-ndjson", &comments)),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = call(
        "POST",
        &format!("{base}/v1/draws/{id}/entries?collection=likes"),
        Some(key),
        Some(("text/csv", &likes)),
    );
    assert_eq!(s, 201, "{b}");
    id
}

/// Locks a draft (200, or 202 when the log has not checkpointed it yet).
fn lock(base: &str, key: &str, id: &str) -> Value {
    let (s, b) = call(
        "POST",
        &format!("{base}/v1/draws/{id}/lock"),
        Some(key),
        None,
    );
    assert!(s == 200 || s == 202, "lock {id}: {s} {b}");
    json_of(&b)
}

fn draw_state(base: &str, key: &str, id: &str) -> String {
    let (_, b) = call("GET", &format!("{base}/v1/draws/{id}"), Some(key), None);
    json_of(&b)["state"].as_str().unwrap_or_default().to_owned()
}

/// Waits until every draw is executed.
fn wait_executed(server: &Server, key: &str, ids: &[String], secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    for id in ids {
        while draw_state(&server.base, key, id) != "executed" {
            assert!(
                Instant::now() < deadline,
                "draw {id} not executed within {secs} s:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The winners' handles `fairdraw verify URL --key KEY --json` re-derives
/// (pinned to the organisation's signing key as `fairdraw admin` printed
/// it; `--key-from` would refuse it, since the key's validity starts at the
/// system time and the replayed lock is dated at the recorded round),
/// after asserting it verifies, and that they are the winners the served
/// bundle records.
fn verified_winners(base: &str, public_key: &str, id: &str) -> Vec<String> {
    let out = Command::new(fairdraw())
        .args([
            "verify",
            &format!("{base}/v1/public/draws/{id}/bundle"),
            "--key",
            public_key,
            "--json",
        ])
        .output()
        .expect("fairdraw verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "verify {id}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&stdout);
    let derived = handles(&report["winners"]);
    assert!(!derived.is_empty(), "verify reports no winners: {stdout}");
    let (s, bundle) = call(
        "GET",
        &format!("{base}/v1/public/draws/{id}/bundle"),
        None,
        None,
    );
    assert_eq!(s, 200);
    let recorded = handles(&json_of(&bundle)["execution"]["payload"]["winners"]);
    assert_eq!(derived, recorded, "verify's winners are the bundle's");
    derived
}

/// The databases a process scenario runs on: SQLite, and PostgreSQL when
/// reachable.
fn databases(test: &str) -> Vec<Database> {
    let mut out = vec![Database::Sqlite];
    match Pg::fresh(test) {
        Ok(pg) => out.push(Database::Postgres(pg)),
        Err(why) => println!("skipping PostgreSQL for {test}: {why}"),
    }
    out
}

fn cleanup(db: &Database) {
    if let Database::Postgres(pg) = db {
        pg.drop_db();
    }
}

fn db_kind(db: &Database) -> &'static str {
    match db {
        Database::Sqlite => "sqlite",
        Database::Postgres(_) => "postgres",
    }
}

/// 100 concurrent `POST /v1/draws/{id}/execute` on one server, for a
/// commit-reveal draw (the server kept the secret): as the README
/// documents, one 200 with the winners and 99 409s carrying the stored,
/// executed draw; one receipt.
#[test]
fn issue_9_a_hundred_concurrent_executes_make_one_receipt() {
    let relay = drand::start_blocking(drand::Config::default());
    for db in databases("concurrent") {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = data_dir_with_drand(dir.path());
        let (key, public_key) = create_org(&data, &db);
        let server = Server::start(&Start {
            data_dir: &data,
            db: &db,
            relay: &relay.origin,
            clock: round_due(),
            workers: 2,
            hold_ms: 0,
        });
        let id = draft(&server.base, &key, "secret");
        lock(&server.base, &key, &id);
        let url = format!("{}/v1/draws/{id}/execute", server.base);
        let gate = Arc::new(Barrier::new(100));
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let (gate, url, key) = (gate.clone(), url.clone(), key.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    call("POST", &url, Some(&key), None)
                })
            })
            .collect();
        let answers: Vec<(u16, String)> = calls
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let ok: Vec<&(u16, String)> = answers.iter().filter(|(s, _)| *s == 200).collect();
        let conflicts: Vec<&(u16, String)> = answers.iter().filter(|(s, _)| *s == 409).collect();
        let other: Vec<&(u16, String)> = answers
            .iter()
            .filter(|(s, _)| *s != 200 && *s != 409)
            .collect();
        assert!(
            other.is_empty(),
            "{} answers neither 200 nor 409: {:?}",
            other.len(),
            other.first()
        );
        assert_eq!((ok.len(), conflicts.len()), (1, 99), "{}", db_kind(&db));
        let winner = json_of(&ok[0].1);
        for (_, body) in &conflicts {
            let p = json_of(body);
            assert_eq!(
                p["current"]["state"], "executed",
                "a 409 carries the stored result: {body}"
            );
            assert_eq!(
                p["current"]["executed_at"], winner["draw"]["executed_at"],
                "{body}"
            );
        }
        let n = assert_one_receipt_each(&db, &data, std::slice::from_ref(&id));
        let answered = handles(&winner["winners"]);
        assert_eq!(
            verified_winners(&server.base, &public_key, &id),
            answered,
            "the 200's winners are verify's"
        );
        eprintln!(
            "exactly once ({}): 100 concurrent executes -> {} x 200, {} x 409; {n} draw, 1 receipt",
            db_kind(&db),
            ok.len(),
            conflicts.len()
        );
        drop(server);
        cleanup(&db);
    }
}

/// A drand draw replayed on `server`: created and locked before
/// [`ROUND`]'s time.
fn locked_drand_draw(server: &Server, key: &str) -> String {
    let id = draft(&server.base, key, &format!("drand:quicknet:{ROUND}"));
    lock(&server.base, key, &id);
    id
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `kill -9` of the server while its worker holds the execution's claim
/// (receipt signed, not stored), then a restart on the same database: the
/// new process takes the job over once the dead one's lease (3 s) expires,
/// and the draw ends executed once.
#[test]
fn issue_9_kill_9_mid_execution_then_a_restart_executes_once() {
    let relay = drand::start_blocking(drand::Config::default());
    for db in databases("kill9") {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = data_dir_with_drand(dir.path());
        let (key, public_key) = create_org(&data, &db);
        let start = round_due() - 10_000;
        let t0 = Instant::now();
        let first = Server::start(&Start {
            data_dir: &data,
            db: &db,
            relay: &relay.origin,
            clock: start,
            workers: 1,
            hold_ms: 600_000,
        });
        let id = locked_drand_draw(&first, &key);
        first.wait_for_line(HOLDING, 60);
        assert_eq!(
            draw_state(&first.base, &key, &id),
            "locked",
            "nothing stored yet"
        );
        let (state, attempts, _, _) = db.execute_job(&data, &id);
        assert_eq!((state.as_str(), attempts), ("running", 1));
        first.kill9();
        assert_eq!(
            db.receipts(&data, std::slice::from_ref(&id))[&id],
            (0, 0),
            "the killed execution stored nothing"
        );

        let second = Server::start(&Start {
            data_dir: &data,
            db: &db,
            relay: &relay.origin,
            clock: start + millis(t0.elapsed()),
            workers: 1,
            hold_ms: 0,
        });
        wait_executed(&second, &key, std::slice::from_ref(&id), 60);
        let (state, attempts, _, _) = db.finished_execute_job(&data, &id);
        assert_eq!(
            (state.as_str(), attempts),
            ("done", 2),
            "taken over after the lease expired"
        );
        assert_one_receipt_each(&db, &data, std::slice::from_ref(&id));
        let winners = verified_winners(&second.base, &public_key, &id);
        eprintln!(
            "exactly once ({}): 1 kill -9 mid-execution, restart took the job over (attempt 2); 1 receipt; winners {winners:?}",
            db_kind(&db)
        );
        drop(second);
        cleanup(&db);
    }
}

/// The worker's PostgreSQL connection terminated (`pg_terminate_backend`)
/// while it holds the execution's open transaction: the commit fails, the
/// job is retried with backoff, and the draw ends executed once.
#[test]
fn issue_9_a_connection_dropped_mid_transaction_is_retried_and_executes_once() {
    let pg = match Pg::fresh("dropconn") {
        Ok(pg) => pg,
        Err(why) => {
            println!("skipping PostgreSQL for dropconn (the scenario needs it): {why}");
            return;
        }
    };
    let db = Database::Postgres(pg.clone());
    let relay = drand::start_blocking(drand::Config::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_dir_with_drand(dir.path());
    let (key, public_key) = create_org(&data, &db);
    let server = Server::start(&Start {
        data_dir: &data,
        db: &db,
        relay: &relay.origin,
        clock: round_due() - 10_000,
        workers: 1,
        hold_ms: 5_000,
    });
    let id = locked_drand_draw(&server, &key);
    server.wait_for_line(HOLDING, 60);
    let holders = pg.rows(&format!(
        "SELECT CAST(pid AS TEXT) FROM pg_stat_activity WHERE datname = '{}' \
         AND state = 'idle in transaction' AND query LIKE '%draw_locks%'",
        pg.name
    ));
    assert_eq!(
        holders.len(),
        1,
        "one connection holds the execution's transaction: {holders:?}"
    );
    let killed = pg.rows(&format!(
        "SELECT CAST(pg_terminate_backend({}) AS TEXT)",
        holders[0][0]
    ));
    assert_eq!(killed, vec![vec!["true".to_owned()]]);
    wait_executed(&server, &key, std::slice::from_ref(&id), 60);
    let (state, attempts, _, last_error) = db.finished_execute_job(&data, &id);
    assert_eq!(state, "done");
    assert!(
        attempts >= 2,
        "the failed attempt was retried: {attempts} attempts"
    );
    assert!(!last_error.is_empty(), "the failed attempt's error is kept");
    assert_one_receipt_each(&db, &data, std::slice::from_ref(&id));
    let winners = verified_winners(&server.base, &public_key, &id);
    eprintln!(
        "exactly once (postgres): backend {} terminated mid-transaction; {attempts} attempts (last error: {last_error}); 1 receipt; winners {winners:?}",
        holders[0][0]
    );
    drop(server);
    pg.drop_db();
}

/// Two `fairdraw serve` processes on one PostgreSQL, both running two
/// workers, with 50 drand draws due at the same round: every draw executed
/// once, the work shared between the replicas.
#[test]
fn issue_9_two_replicas_on_postgresql_execute_fifty_due_draws_once_each() {
    const DRAWS: usize = 50;
    let pg = match Pg::fresh("replicas") {
        Ok(pg) => pg,
        Err(why) => {
            println!("skipping PostgreSQL for replicas (the scenario needs it): {why}");
            return;
        }
    };
    let db = Database::Postgres(pg.clone());
    let relay = drand::start_blocking(drand::Config::default());
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (data_a, data_b) = (
        data_dir_with_drand(dir_a.path()),
        data_dir_with_drand(dir_b.path()),
    );
    let (key, public_key) = create_org(&data_a, &db);
    let start = round_due() - 40_000;
    let t0 = Instant::now();
    let a = Server::start(&Start {
        data_dir: &data_a,
        db: &db,
        relay: &relay.origin,
        clock: start,
        workers: 2,
        hold_ms: 0,
    });
    let b = Server::start(&Start {
        data_dir: &data_b,
        db: &db,
        relay: &relay.origin,
        clock: start + millis(t0.elapsed()),
        workers: 2,
        hold_ms: 0,
    });
    // Half the draws made through each replica, five at a time.
    let bases = [a.base.clone(), b.base.clone()];
    let ids: Vec<String> = std::thread::scope(|s| {
        let tasks: Vec<_> = (0..5)
            .map(|t| {
                let (bases, key) = (&bases, &key);
                s.spawn(move || {
                    (0..DRAWS / 5)
                        .map(|n| {
                            let base = &bases[(t + n) % 2];
                            let id = draft(base, key, &format!("drand:quicknet:{ROUND}"));
                            lock(base, key, &id);
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        tasks
            .into_iter()
            .flat_map(|t| t.join().expect("thread"))
            .collect()
    });
    assert_eq!(ids.len(), DRAWS);
    let locked_in = t0.elapsed();
    wait_executed(&a, &key, &ids, 120);
    let receipts = assert_one_receipt_each(&db, &data_a, &ids);
    let split = |kind: &str| -> BTreeMap<String, usize> {
        pg.rows(&format!(
            "SELECT split_part(locked_by, '-', 1), CAST(count(*) AS TEXT) FROM jobs \
             WHERE kind = '{kind}' AND state = 'done' GROUP BY 1"
        ))
        .into_iter()
        .map(|r| {
            let who = if r[0] == a.child.id().to_string() {
                "A"
            } else if r[0] == b.child.id().to_string() {
                "B"
            } else {
                "?"
            };
            (who.to_owned(), r[1].parse().unwrap_or(0))
        })
        .collect()
    };
    let (polls, executions) = (split("poll_beacon"), split("execute_draw"));
    assert_eq!(executions.values().sum::<usize>(), DRAWS, "{executions:?}");
    assert!(
        executions.get("A").copied().unwrap_or(0) > 0
            && executions.get("B").copied().unwrap_or(0) > 0,
        "both replicas executed draws: {executions:?}"
    );
    let retried = pg.rows("SELECT CAST(count(*) AS TEXT) FROM jobs WHERE attempts > 1");
    for id in &ids {
        verified_winners(&a.base, &public_key, id);
    }
    eprintln!(
        "exactly once (postgres): 2 replicas x 2 workers, {DRAWS} draws locked in {locked_in:?} and due at one round; \
         {receipts} draws with 1 receipt each; polls {polls:?}, executions {executions:?}; jobs retried: {}",
        retried[0][0]
    );
    drop((a, b));
    pg.drop_db();
}
