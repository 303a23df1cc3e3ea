//! Issue 14: `fairdraw serve` with two `fairdraw witness` processes. The
//! log submits every checkpoint to both and serves their cosignatures;
//! the witnesses refuse a fork, a rollback and a bad consistency proof
//! (crafted here with a second, test-held log key), and keep their state
//! across a restart.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::{Checkpoint, Note, SignatureType, VerifierKey, consistency_proof};
use fairdraw_engine::merkle::{leaf_hash, root};
use fairdraw_engine::receipt::Signer;

use crate::support::{BIN, Proc, free_port, giveaway_dir, serve_demo};

const TEST_LOG: &str = "test.invalid/log";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn get(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().expect("GET");
    (
        r.status().as_u16(),
        r.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn post(url: &str, key: Option<&str>, ct: &str, body: &[u8]) -> (u16, String) {
    let mut req = agent().post(url).header("content-type", ct);
    if let Some(k) = key {
        req = req.header("authorization", &format!("Bearer {k}"));
    }
    let mut r = req.send(body).expect("POST");
    (
        r.status().as_u16(),
        r.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a witness's configuration (its key from a fixed secret).
fn witness_config(dir: &Path, name: &str, secret: u8, log_vkey: &str, test_vkey: &str) -> String {
    std::fs::write(dir.join(format!("{name}.key")), hex::encode([secret; 32])).expect("key");
    let cfg = format!(
        "name = \"witness.test/{name}\"\nkey_file = \"{name}.key\"\nstate_file = \"{name}.json\"\n\n\
         [[logs]]\nkey = \"{log_vkey}\"\n\n[[logs]]\nkey = \"{test_vkey}\"\n"
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, cfg).expect("config");
    path.display().to_string()
}

fn start_witness(config: &str, port: u16) -> Proc {
    let child = Command::new(BIN)
        .args([
            "witness",
            "--config",
            config,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("witness starts");
    wait_until("the witness", 20, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Proc(child)
}

fn witness_vkey(name: &str, secret: u8) -> VerifierKey {
    VerifierKey::for_signer(
        &format!("witness.test/{name}"),
        SignatureType::CosignatureV1,
        &Signer::from_secret([secret; 32]),
    )
    .expect("vkey")
}

fn signed(signer: &Signer, leaves: &[Hash32]) -> String {
    let cp = Checkpoint::new(TEST_LOG, leaves.len() as u64, root(leaves)).expect("cp");
    let mut n = Note::new(&cp.to_text()).expect("note");
    n.sign(TEST_LOG, signer).expect("sign");
    n.to_text()
}

fn add(port: u16, old: u64, proof: &[Hash32], note: &str) -> (u16, String) {
    use base64::Engine as _;
    let mut b = format!("old {old}\n");
    for h in proof {
        b.push_str(&base64::engine::general_purpose::STANDARD.encode(h.0));
        b.push('\n');
    }
    b.push('\n');
    b.push_str(note);
    post(
        &format!("http://127.0.0.1:{port}/add-checkpoint"),
        None,
        "text/plain",
        b.as_bytes(),
    )
}

/// The number of the two witnesses' cosignatures on the served checkpoint
/// of at least `size` leaves.
fn cosigned(base: &str, size: u64) -> usize {
    let (status, text) = get(&format!("{base}/log/checkpoint"));
    let Ok(note) = Note::parse(text.as_bytes()) else {
        return 0;
    };
    let Ok(cp) = Checkpoint::parse(note.text()) else {
        return 0;
    };
    if status != 200 || cp.size < size {
        return 0;
    }
    [witness_vkey("w1", 11), witness_vkey("w2", 12)]
        .iter()
        .filter(|k| {
            note.signatures()
                .iter()
                .any(|s| k.matches(s) && k.verify(note.text(), s).is_ok())
        })
        .count()
}

#[test]
fn issue_14_two_witness_processes_cosign_and_refuse_forks_rollbacks_and_bad_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p1, p2) = (free_port(), free_port());
    let test_log = Signer::from_secret([42; 32]);
    let test_vkey = VerifierKey::for_signer(TEST_LOG, SignatureType::Ed25519, &test_log)
        .expect("vkey")
        .to_vkey();
    let witnesses = format!(
        "http://127.0.0.1:{p1} {},http://127.0.0.1:{p2} {}",
        witness_vkey("w1", 11),
        witness_vkey("w2", 12)
    );
    // The server first (the witnesses need its log key), with a demo draw
    // for an API key; the witnesses are down for now.
    let server = serve_demo(
        &dir.path().join("data"),
        &[("FAIRDRAW_LOG_WITNESSES", &witnesses)],
    );
    let (base, key) = (server.base.clone(), server.api_key.clone());
    let (status, log_vkey) = get(&format!("{base}/log/key"));
    assert_eq!(status, 200);
    let log_vkey = log_vkey.trim().to_owned();
    let c1 = witness_config(dir.path(), "w1", 11, &log_vkey, &test_vkey);
    let c2 = witness_config(dir.path(), "w2", 12, &log_vkey, &test_vkey);
    let mut w1 = start_witness(&c1, p1);
    let _w2 = start_witness(&c2, p2);

    // Normal cosigning: the demo's two receipts get both cosignatures.
    wait_until("two cosignatures of the demo's checkpoint", 30, || {
        cosigned(&base, 2) == 2
    });

    // A new draw, locked with one witness down: the lock answers once
    // checkpointed; w2 cosigns at once, w1 once it is back, from its
    // persisted state.
    drop(std::mem::replace(
        &mut w1,
        Proc(Command::new("true").spawn().expect("true")),
    ));
    let rules = std::fs::read_to_string(giveaway_dir().join("rules.json")).expect("rules");
    let draft = serde_json::json!({"title": "witnessed", "rules": serde_json::from_str::<serde_json::Value>(&rules).expect("json"), "randomness": "secret"});
    let (status, body) = post(
        &format!("{base}/v1/draws"),
        Some(&key),
        "application/json",
        draft.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let comments = std::fs::read(giveaway_dir().join("comments.jsonl")).expect("comments");
    let likes = std::fs::read(giveaway_dir().join("likes.csv")).expect("likes");
    let (s, b) = post(
        &format!("{base}/v1/draws/{id}/entries"),
        Some(&key),
        "application/x-ndjson",
        &comments,
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = post(
        &format!("{base}/v1/draws/{id}/entries?collection=likes"),
        Some(&key),
        "text/csv",
        &likes,
    );
    assert_eq!(s, 201, "{b}");
    let t = Instant::now();
    let (s, b) = post(
        &format!("{base}/v1/draws/{id}/lock"),
        Some(&key),
        "application/json",
        b"{}",
    );
    assert_eq!(s, 200, "{b}");
    let lock: serde_json::Value = serde_json::from_str(&b).expect("json");
    assert_eq!(lock["log"]["state"], "checkpointed");
    let size = lock["log"]["checkpoint_size"].as_u64().expect("size");
    wait_until("w2's cosignature", 30, || cosigned(&base, size) >= 1);
    let one = t.elapsed();
    w1 = start_witness(&c1, p1);
    wait_until("w1's cosignature after its restart", 30, || {
        cosigned(&base, size) == 2
    });
    eprintln!(
        "lock to one cosignature: {one:?}; with w1 restarted: {:?}",
        t.elapsed()
    );

    // The log proofs carry both cosignatures.
    let (s, proofs) = get(&format!("{base}/v1/public/draws/{id}/log-proofs"));
    assert_eq!(s, 200, "{proofs}");

    // Executed (commit-reveal: the server keeps the secret), the bundle
    // served by the API carries both log proofs, and `fairdraw verify
    // --policy` (the log's key and both witnesses) says it is logged.
    let (s, b) = post(
        &format!("{base}/v1/draws/{id}/execute"),
        Some(&key),
        "application/json",
        b"{}",
    );
    assert_eq!(s, 200, "{b}");
    wait_until("both cosignatures of the execution", 30, || {
        cosigned(&base, size + 1) == 2
    });
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({
            "log": log_vkey,
            "witnesses": [witness_vkey("w1", 11).to_vkey(), witness_vkey("w2", 12).to_vkey()],
            "quorum": 2,
        })
        .to_string(),
    )
    .expect("policy");
    let verify = |draw: &str| {
        Command::new(BIN)
            .args([
                "verify",
                &format!("{base}/v1/public/draws/{draw}/bundle"),
                "--policy",
            ])
            .arg(&policy)
            .output()
            .expect("verify runs")
    };
    let out = verify(&id);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("[ok  ] log "), "{stdout}");
    assert!(
        stdout.contains("logged (witnessed before the randomness existed)"),
        "{stdout}"
    );

    // Forks, rollbacks and bad proofs, with the test log.
    let a: Vec<Hash32> = (0..10)
        .map(|i| leaf_hash(format!("a{i}").as_bytes()))
        .collect();
    let b: Vec<Hash32> = (0..12)
        .map(|i| leaf_hash(format!("b{i}").as_bytes()))
        .collect();
    assert_eq!(add(p1, 0, &[], &signed(&test_log, &a[..4])).0, 200);
    let proof = consistency_proof(&a, 4).expect("proof");
    assert_eq!(add(p1, 4, &proof, &signed(&test_log, &a)).0, 200);
    // Fork: another tree of size 10.
    let (s, body) = add(p1, 10, &[], &signed(&test_log, &b[..10]));
    assert_eq!((s, body.as_str()), (409, "10\n"));
    // Rollback: a size-4 tree from an old size of 4.
    let (s, body) = add(p1, 4, &[], &signed(&test_log, &a[..4]));
    assert_eq!((s, body.as_str()), (409, "10\n"));
    // A bad consistency proof (from the other tree).
    let bad = consistency_proof(&b, 10).expect("proof");
    assert_eq!(add(p1, 10, &bad, &signed(&test_log, &b)).0, 422);
    // A restart keeps the state: still 409 with size 10.
    drop(w1);
    let _w1 = start_witness(&c1, p1);
    let (s, body) = add(p1, 0, &[], &signed(&test_log, &a[..2]));
    assert_eq!((s, body.as_str()), (409, "10\n"));
    drop(server);
}
