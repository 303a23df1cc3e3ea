//! Shared helpers: valid proof bundles built from small synthetic entries, and
//! the re-signing tools an operator (who holds the signing key) would use to
//! doctor one.
//!
//! Three bases, one per kind of randomness: [`drand_bundle`] (default chain
//! round 2634945, a real beacon from `engine/tests/vectors/drand_beacons.json`),
//! [`commit_reveal_bundle`] and [`rfc3797_bundle`]. They are built once per
//! test binary and cached: building a drand bundle verifies a BLS signature,
//! which is slow in a debug build.
//!
//! Attacks work on the bundle as a [`serde_json::Value`]. An outsider edits it
//! and that is all; an operator then calls [`resign_lock`] or
//! [`resign_execution`], and [`relink`] / [`reseed`] to fix up what the edit
//! broke.

// A panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use fairdraw_engine::bundle::{ExecutionPayload, LockPayload, ParsedBundle, Pick, Selection};
use fairdraw_engine::draw::{self, EntryChecks, LockRequest};
use fairdraw_engine::encoding::{Hash32, HexBytes, parse_hex};
use fairdraw_engine::entry::{Entry, OwnedEntry};
use fairdraw_engine::log::entry::LogEntry;
use fairdraw_engine::log::{
    Checkpoint, LogProof, Note, SignatureType, TrustPolicy, VerifierKey, cosign,
};
use fairdraw_engine::merkle;
use fairdraw_engine::randomness::drand::{self, Beacon};
use fairdraw_engine::randomness::rfc3797::SourceShape;
use fairdraw_engine::randomness::{Declared, Realised, commit_reveal};
use fairdraw_engine::receipt::{Signed, Signer};
use fairdraw_engine::rules::Rules;
use fairdraw_engine::select::derive_seed;
use fairdraw_engine::time::Timestamp;
use fairdraw_engine::verify::{Expectations, Report, verify_bundle};
use serde_json::Value;

/// Real drand beacons with their sources.
pub const DRAND_VECTORS: &str = include_str!("../vectors/drand_beacons.json");

/// The operator's signing key.
pub const OPERATOR_SECRET: [u8; 32] = [1; 32];
/// Somebody else's key.
pub const OUTSIDER_SECRET: [u8; 32] = [2; 32];
/// The commit-reveal secret of [`commit_reveal_bundle`].
pub const SECRET: [u8; 32] = [7; 32];

/// The operator's signer.
pub fn operator() -> Signer {
    Signer::from_secret(OPERATOR_SECRET)
}

/// An outsider's signer.
pub fn outsider() -> Signer {
    Signer::from_secret(OUTSIDER_SECRET)
}

/// What a verifier who knows the organiser's published key expects.
pub fn pinned_key() -> Expectations {
    Expectations {
        public_key: Some(operator().public_key()),
        lock_hash: None,
        policy: None,
    }
}

/// The organiser's key and the lock hash published before the draw.
pub fn pinned_key_and_lock(lock_hash: Hash32) -> Expectations {
    Expectations {
        public_key: Some(operator().public_key()),
        lock_hash: Some(lock_hash),
        policy: None,
    }
}

/// Verifies with the organiser's key pinned.
pub fn verify(bytes: &[u8]) -> Report {
    verify_bundle(bytes, &pinned_key())
}

pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse_canonical(s).expect("canonical timestamp")
}

// ------------------------------------------------------------------ entries

/// The primary collection. Every optional field is set and no text field is
/// empty, so deleting any key of an entry changes its hash (bundle_props
/// relies on that). Eligible: @ann (2 entries), @bob (2), @fay, @gus, @hal,
/// @ivy; @cid has no keyword, @dee too few followers, @eve did not like.
const COMMENTS: &str = r##"[
{"platform":"youtube","user_id":"u1","handle":"@ann","display_name":"Ann","text":"#win for @xia and @yan","created_at":"2023-01-15T10:00:00Z","followers":50,"account_created_at":"2020-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u2","handle":"@bob","display_name":"Bob","text":"#win @xia","created_at":"2023-01-15T10:01:00Z","followers":20,"account_created_at":"2019-05-01T00:00:00Z"},
{"platform":"youtube","user_id":"u3","handle":"@cid","display_name":"Cid","text":"no keyword here @xia","created_at":"2023-01-15T10:02:00Z","followers":30,"account_created_at":"2018-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u2","handle":"@bob","display_name":"Bob","text":"#WIN again @xia @zed","created_at":"2023-01-15T10:03:00Z","followers":20,"account_created_at":"2019-05-01T00:00:00Z"},
{"platform":"youtube","user_id":"u4","handle":"@dee","display_name":"Dee","text":"#win","created_at":"2023-01-15T10:04:00Z","followers":5,"account_created_at":"2021-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u5","handle":"@eve","display_name":"Eve","text":"#win @qin","created_at":"2023-01-15T10:05:00Z","followers":100,"account_created_at":"2017-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u6","handle":"@fay","display_name":"Fay","text":"#win @xia","created_at":"2023-01-15T10:06:00Z","followers":15,"account_created_at":"2016-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u7","handle":"@gus","display_name":"Gus","text":"#win @abe @bea @cal","created_at":"2023-01-15T10:07:00Z","followers":70,"account_created_at":"2015-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u8","handle":"@hal","display_name":"Hal","text":"#win","created_at":"2023-01-15T10:08:00Z","followers":11,"account_created_at":"2022-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u1","handle":"@ann","display_name":"Ann","text":"#win third time","created_at":"2023-01-15T10:09:00Z","followers":50,"account_created_at":"2020-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u9","handle":"@ivy","display_name":"Ivy","text":"#win @shop","created_at":"2023-01-15T10:10:00Z","followers":40,"account_created_at":"2014-01-01T00:00:00Z"}
]"##;

/// The `likes` collection the rules require (everyone but @eve).
const LIKES: &str = r##"[
{"platform":"youtube","user_id":"u1","handle":"@ann","display_name":"Ann","text":"like","created_at":"2023-01-16T00:00:00Z","followers":50,"account_created_at":"2020-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u2","handle":"@bob","display_name":"Bob","text":"like","created_at":"2023-01-16T00:00:00Z","followers":20,"account_created_at":"2019-05-01T00:00:00Z"},
{"platform":"youtube","user_id":"u3","handle":"@cid","display_name":"Cid","text":"like","created_at":"2023-01-16T00:00:00Z","followers":30,"account_created_at":"2018-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u4","handle":"@dee","display_name":"Dee","text":"like","created_at":"2023-01-16T00:00:00Z","followers":5,"account_created_at":"2021-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u6","handle":"@fay","display_name":"Fay","text":"like","created_at":"2023-01-16T00:00:00Z","followers":15,"account_created_at":"2016-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u7","handle":"@gus","display_name":"Gus","text":"like","created_at":"2023-01-16T00:00:00Z","followers":70,"account_created_at":"2015-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u8","handle":"@hal","display_name":"Hal","text":"like","created_at":"2023-01-16T00:00:00Z","followers":11,"account_created_at":"2022-01-01T00:00:00Z"},
{"platform":"youtube","user_id":"u9","handle":"@ivy","display_name":"Ivy","text":"like","created_at":"2023-01-16T00:00:00Z","followers":40,"account_created_at":"2014-01-01T00:00:00Z"}
]"##;

const RULES: &str = r##"{
  "winners": 2,
  "alternates": 2,
  "collection": "comments",
  "entries_per_user": 2,
  "keywords": {"any": ["#win"]},
  "min_followers": 10,
  "require_in": ["likes"],
  "organizer": "youtube:@shop",
  "bonus": {"per_extra_mention": 1, "max": 2}
}"##;

/// The synthetic collections.
pub fn collections() -> BTreeMap<String, Vec<OwnedEntry>> {
    let parse = |s: &'static str| -> Vec<OwnedEntry> {
        serde_json::from_str::<Vec<Entry<'static>>>(s).expect("entries")
    };
    BTreeMap::from([
        ("comments".to_owned(), parse(COMMENTS)),
        ("likes".to_owned(), parse(LIKES)),
    ])
}

/// The synthetic rules: 2 winners, 2 alternates.
pub fn rules() -> Rules {
    Rules::from_json(RULES.as_bytes()).expect("rules")
}

// --------------------------------------------------------------- randomness

/// A beacon of the vectors file, as the execution receipt records it.
pub fn beacon(chain: &str, round: u64) -> Realised {
    let v: Value = serde_json::from_str(DRAND_VECTORS).expect("vectors");
    let b = v["chains"][chain]["beacons"]
        .as_array()
        .expect("beacons")
        .iter()
        .find(|b| b["round"] == round)
        .expect("beacon in vectors");
    let hex = |k: &str| b[k].as_str().map(|s| parse_hex(s).expect("hex"));
    Beacon {
        round,
        signature: hex("signature").expect("signature"),
        previous_signature: hex("previous_signature"),
        randomness: None,
    }
    .realise(drand::chain(chain).expect("chain"))
    .expect("real beacon verifies")
}

/// The drand round every drand bundle uses, due 2023-01-23T13:09:30Z.
pub const ROUND: u64 = 2_634_945;

/// Everything a draw is made of; [`Spec::build`] locks and executes it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub draw_id: String,
    pub title: String,
    pub rules: Rules,
    pub collections: BTreeMap<String, Vec<OwnedEntry>>,
    pub declared: Declared,
    pub locked_at: Timestamp,
    pub realised: Realised,
    pub executed_at: Timestamp,
    pub secret: [u8; 32],
}

impl Spec {
    /// Default drand chain, round 2634945, locked 9.5 minutes before it.
    pub fn drand() -> Spec {
        Spec {
            draw_id: "adv-drand".into(),
            title: "Synthetic drand giveaway".into(),
            rules: rules(),
            collections: collections(),
            declared: drand::chain("default").expect("default").declare(ROUND),
            locked_at: ts("2023-01-23T13:00:00Z"),
            realised: beacon("default", ROUND),
            executed_at: ts("2023-01-23T13:10:00Z"),
            secret: OPERATOR_SECRET,
        }
    }

    /// Commit-reveal with [`SECRET`].
    pub fn commit_reveal() -> Spec {
        Spec {
            draw_id: "adv-commit".into(),
            title: "Synthetic commit-reveal giveaway".into(),
            declared: commit_reveal::declare(&SECRET).expect("32 bytes"),
            realised: Realised::CommitReveal {
                secret: HexBytes(SECRET.to_vec()),
            },
            executed_at: ts("2023-01-23T14:00:00Z"),
            ..Spec::drand()
        }
    }

    /// secret+drand (protocol 2): [`SECRET`] and default-chain round [`ROUND`].
    pub fn secret_drand() -> Spec {
        let Declared::Drand {
            chain,
            chain_hash,
            round,
        } = drand::chain("default").expect("default").declare(ROUND)
        else {
            unreachable!("a drand declaration")
        };
        let Declared::CommitReveal { commitment } =
            commit_reveal::declare(&SECRET).expect("32 bytes")
        else {
            unreachable!("a commit-reveal declaration")
        };
        Spec {
            draw_id: "adv-secret-drand".into(),
            title: "Synthetic secret+drand giveaway".into(),
            declared: Declared::SecretDrand {
                commitment,
                chain,
                chain_hash,
                round,
            },
            realised: Realised::secret_drand(&SECRET, beacon("default", ROUND)).expect("drand"),
            ..Spec::drand()
        }
    }

    /// RFC 3797 with the RFC's section 6 values.
    pub fn rfc3797() -> Spec {
        Spec {
            draw_id: "adv-rfc3797".into(),
            title: "Synthetic RFC 3797 giveaway".into(),
            declared: Declared::Rfc3797 {
                sources: "Lottery A 2023-01-24; Lottery B 2023-01-24; Lottery C 2023-01-24".into(),
                shapes: ["Lottery A=1x0-9999", "Lottery B=5x1-49", "Lottery C=6x1-49"]
                    .iter()
                    .map(|s| SourceShape::parse(s).expect("shape"))
                    .collect(),
            },
            realised: Realised::Rfc3797 {
                values: vec![
                    "9319".into(),
                    "2 5 12 8 10".into(),
                    "9 18 26 34 41 45".into(),
                ],
            },
            executed_at: ts("2023-01-25T00:00:00Z"),
            ..Spec::drand()
        }
    }

    /// The lock file (a bundle without execution).
    pub fn lock_file(&self) -> Vec<u8> {
        let req = LockRequest {
            draw_id: self.draw_id.clone(),
            title: self.title.clone(),
            rules: self.rules.clone(),
            collections: self.collections.clone(),
            randomness: self.declared.clone(),
            locked_at: self.locked_at,
            sequence: None,
        };
        let locked = draw::lock(&req, &Signer::from_secret(self.secret)).expect("lock");
        locked.bundle.to_json()
    }

    /// The executed bundle.
    pub fn build(&self) -> Vec<u8> {
        execute_lock_file(
            &self.lock_file(),
            self.realised.clone(),
            self.executed_at,
            &Signer::from_secret(self.secret),
        )
    }
}

/// Executes a lock file honestly.
pub fn execute_lock_file(
    lock_file: &[u8],
    realised: Realised,
    executed_at: Timestamp,
    signer: &Signer,
) -> Vec<u8> {
    let parsed = ParsedBundle::parse(lock_file).expect("lock file parses");
    draw::execute(&parsed, realised, executed_at, signer)
        .expect("execute")
        .to_json()
}

fn cached(cell: &'static OnceLock<Vec<u8>>, make: fn() -> Vec<u8>) -> Vec<u8> {
    cell.get_or_init(make).clone()
}

/// A valid drand bundle (cached).
pub fn drand_bundle() -> Vec<u8> {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&CELL, || Spec::drand().build())
}

/// A valid commit-reveal bundle (cached).
pub fn commit_reveal_bundle() -> Vec<u8> {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&CELL, || Spec::commit_reveal().build())
}

/// A valid secret+drand bundle (cached).
pub fn secret_drand_bundle() -> Vec<u8> {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&CELL, || Spec::secret_drand().build())
}

/// A valid RFC 3797 bundle (cached).
pub fn rfc3797_bundle() -> Vec<u8> {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&CELL, || Spec::rfc3797().build())
}

// ------------------------------------------------------------ JSON surgery

pub fn to_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("bundle is JSON")
}

pub fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).expect("JSON")
}

/// Applies `f` to the bundle parsed as a JSON value.
pub fn edit(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = to_value(bytes);
    f(&mut v);
    to_bytes(&v)
}

/// The lock payload of a bundle value.
pub fn lock_payload(v: &Value) -> LockPayload {
    serde_json::from_value(v["lock"]["payload"].clone()).expect("lock payload")
}

/// The execution payload of a bundle value.
pub fn exec_payload(v: &Value) -> ExecutionPayload {
    serde_json::from_value(v["execution"]["payload"].clone()).expect("execution payload")
}

/// The lock receipt's hash.
pub fn lock_hash(v: &Value) -> Hash32 {
    let lock: Signed<LockPayload> =
        serde_json::from_value(v["lock"].clone()).expect("lock receipt");
    lock.hash().expect("hash")
}

/// Operator: edits the lock payload and signs it again with `signer`. The
/// execution still points at the old lock hash; see [`relink`].
pub fn resign_lock(v: &mut Value, signer: &Signer, f: impl FnOnce(&mut LockPayload)) {
    let mut p = lock_payload(v);
    f(&mut p);
    v["lock"] = serde_json::to_value(Signed::sign(p, signer).expect("sign")).expect("JSON");
}

/// Operator: edits the execution payload and signs it again with `signer`.
pub fn resign_execution(v: &mut Value, signer: &Signer, f: impl FnOnce(&mut ExecutionPayload)) {
    let mut p = exec_payload(v);
    f(&mut p);
    v["execution"] = serde_json::to_value(Signed::sign(p, signer).expect("sign")).expect("JSON");
}

/// Operator: points the execution at the current lock and re-signs it.
pub fn relink(v: &mut Value, signer: &Signer) {
    let h = lock_hash(v);
    resign_execution(v, signer, |p| p.lock_hash = h);
}

/// Operator: re-derives the recorded seed from the current lock hash and the
/// recorded randomness (ChaCha20 draws only) and re-signs the execution. The
/// winners are left as they were.
pub fn reseed(v: &mut Value, signer: &Signer) {
    let h = lock_hash(v);
    resign_execution(v, signer, |p| {
        // The material the seed derivation takes, whether or not it verifies.
        let material = match &p.randomness {
            Realised::Drand { randomness, .. } => randomness.0.to_vec(),
            Realised::CommitReveal { secret } => secret.0.clone(),
            Realised::SecretDrand {
                secret, randomness, ..
            } => [secret.0.as_slice(), &randomness.0].concat(),
            Realised::Rfc3797 { .. } => return,
        };
        p.selection = Selection::Chacha20 {
            seed: derive_seed(&h, draw::realised_kind(&p.randomness), &material),
        };
    });
}

/// The tally an operator computes to commit to anything: the rules of the
/// lock over the raw collections, under the lock's protocol but without a
/// lock time; when its entry checks refuse an entry, with protocol 1's (the
/// loosest), so that bundles a protocol 2 verifier refuses can be built.
pub fn loose_tally<'a>(parsed: &ParsedBundle<'a>) -> draw::Tally<'a> {
    let rules = &parsed.lock.payload.rules;
    let checks = |protocol| EntryChecks {
        protocol,
        locked_at: None,
    };
    draw::tally_as(
        rules,
        &parsed.collections,
        None,
        checks(parsed.lock.payload.protocol),
    )
    .or_else(|_| draw::tally_as(rules, &parsed.collections, None, checks(1)))
    .expect("tally")
}

/// Operator: recomputes the lock's commitments (collections, eligible,
/// tickets, Merkle root) from the bundle's raw collections under the lock's
/// rules, and re-signs the lock. The execution is not touched.
pub fn recommit(v: &mut Value, signer: &Signer) {
    let bytes = to_bytes(v);
    let parsed = ParsedBundle::parse(&bytes).expect("bundle parses");
    let t = loose_tally(&parsed);
    let (collections, eligible, total, root) = (
        t.collections.clone(),
        t.evaluation.eligible.len() as u64,
        t.evaluation.total_tickets,
        t.merkle_root,
    );
    resign_lock(v, signer, |p| {
        p.collections = collections;
        p.eligible = eligible;
        p.total_tickets = total;
        p.merkle_root = root;
    });
}

/// Operator: throws the execution away and executes the (possibly doctored)
/// lock again honestly, with the recorded randomness and time. The result is
/// a fully consistent bundle.
pub fn reexecute(v: &mut Value, signer: &Signer) {
    let exec = exec_payload(v);
    v.as_object_mut().expect("object").remove("execution");
    let out = execute_lock_file(&to_bytes(v), exec.randomness, exec.executed_at, signer);
    *v = to_value(&out);
}

/// Operator: re-draws the winners and alternates from the current lock and
/// the recorded randomness, writes them with the matching selection input
/// and re-signs the execution (after [`relink`]). Unlike [`reexecute`] it
/// skips `draw::execute`'s own checks, so it also re-draws locks that
/// `draw::lock` would refuse.
pub fn redraw(v: &mut Value, signer: &Signer) {
    relink(v, signer);
    let bytes = to_bytes(v);
    let parsed = ParsedBundle::parse(&bytes).expect("bundle parses");
    let lock = &parsed.lock.payload;
    let exec = &parsed.execution.as_ref().expect("executed").payload;
    let t = loose_tally(&parsed);
    // The operator draws from any RFC 3797 values, whatever shapes the lock
    // fixed (the shapes do not enter the key).
    let mut any_values = lock.clone();
    if let Declared::Rfc3797 { shapes, .. } = &mut any_values.randomness {
        shapes.clear();
    }
    let (selection, indices) =
        draw::draw_indices(&exec.lock_hash, &any_values, &exec.randomness, &t.tickets)
            .expect("randomness verifies");
    let comments = &v["collections"][lock.rules.primary_collection()];
    let mut picks: Vec<Pick> = indices
        .iter()
        .map(|&leaf| {
            let e = &t.evaluation.eligible[leaf as usize];
            let entry =
                fairdraw_engine::entry::deserialize_owned(comments[e.entry_index as usize].clone())
                    .expect("entry");
            Pick {
                leaf_index: leaf,
                tickets: e.tickets,
                entry,
            }
        })
        .collect();
    let alternates = picks.split_off(lock.winners as usize);
    resign_execution(v, signer, |p| {
        p.selection = selection;
        p.winners = picks;
        p.alternates = alternates;
    });
}

/// The raw entries of a collection as a mutable JSON array.
pub fn collection_mut<'v>(v: &'v mut Value, name: &str) -> &'v mut Vec<Value> {
    v["collections"][name]
        .as_array_mut()
        .expect("collection array")
}

/// Removes every primary entry of `user_id`.
pub fn drop_user(v: &mut Value, user_id: &str) {
    collection_mut(v, "comments").retain(|e| e["user_id"] != user_id);
}

/// The user ids of the recorded winners and alternates.
pub fn picked_users(v: &Value) -> Vec<String> {
    let p = exec_payload(v);
    p.winners
        .iter()
        .chain(&p.alternates)
        .map(|w| w.entry.user_id.to_string())
        .collect()
}

/// An eligible entrant who is neither a winner nor an alternate.
pub fn bystander(v: &Value) -> String {
    let picked = picked_users(v);
    ["u1", "u2", "u6", "u7", "u8", "u9"]
        .into_iter()
        .find(|u| !picked.iter().any(|p| p == u))
        .expect("6 eligible, 4 picked")
        .to_owned()
}

// ------------------------------------------------------------- the log

/// The test transparency log's origin (and its key's name).
pub const LOG_ORIGIN: &str = "log.test/fairdraw";

/// The test log's signing key.
pub fn log_signer() -> Signer {
    Signer::from_secret([0x10; 32])
}

/// Test witness `i`'s key (1 and 2 are trusted by [`trust_policy`]).
pub fn witness(i: u8) -> Signer {
    Signer::from_secret([0x20 + i; 32])
}

/// Test witness `i`'s name.
pub fn witness_name(i: u8) -> String {
    format!("witness.test/w{i}")
}

/// Trusts the test log and witnesses 1 and 2, both required.
pub fn trust_policy() -> TrustPolicy {
    let vk = |name: &str, ty, s: &Signer| VerifierKey::for_signer(name, ty, s).expect("key");
    TrustPolicy {
        origin: None,
        log: vk(LOG_ORIGIN, SignatureType::Ed25519, &log_signer()),
        witnesses: (1..=2)
            .map(|i| vk(&witness_name(i), SignatureType::CosignatureV1, &witness(i)))
            .collect(),
        quorum: 2,
    }
}

/// The declared round's time, as Unix seconds.
pub fn round_time() -> u64 {
    drand::chain("default")
        .expect("chain")
        .round_time(ROUND)
        .unix() as u64
}

/// Logs the bundle's receipts after three entries of other draws, in a
/// checkpoint signed by the test log and cosigned at `at` by `witnesses`
/// (by number), and writes the log proofs into the bundle.
pub fn log_receipts(v: &mut Value, at: u64, witnesses: &[u8]) {
    let bytes = to_bytes(v);
    let parsed = ParsedBundle::parse(&bytes).expect("bundle parses");
    let mut leaves: Vec<Hash32> = (0..3u8).map(|i| merkle::leaf_hash(&[i])).collect();
    leaves.push(LogEntry::lock(&parsed.lock).expect("entry").leaf_hash());
    let execution = parsed.execution.as_ref().map(|e| {
        leaves.push(LogEntry::execution(e).expect("entry").leaf_hash());
        leaves.len() as u64 - 1
    });
    let checkpoint = Checkpoint::new(LOG_ORIGIN, leaves.len() as u64, merkle::root(&leaves))
        .expect("checkpoint");
    let mut note = Note::new(&checkpoint.to_text()).expect("note");
    note.sign(LOG_ORIGIN, &log_signer()).expect("log signs");
    for &i in witnesses {
        cosign(&mut note, &witness_name(i), at, &witness(i)).expect("cosigns");
    }
    let proof = |index: u64| {
        let path = merkle::inclusion_proof(&leaves, index)
            .expect("in range")
            .path;
        LogProof::new(index, path, note.clone()).to_text()
    };
    let mut log = serde_json::json!({ "lock": proof(3) });
    if let Some(i) = execution {
        log["execution"] = proof(i).into();
    }
    v["log"] = log;
}

/// The drand bundle, logged: both witnesses cosigned 30 s after the lock,
/// before the round.
pub fn logged_drand_bundle() -> Vec<u8> {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&CELL, || {
        edit(&drand_bundle(), |v| {
            let locked_at = lock_payload(v).locked_at.unix() as u64;
            log_receipts(v, locked_at + 30, &[1, 2]);
        })
    })
}

/// The organiser's key and the test trust policy.
pub fn pinned_key_and_policy() -> Expectations {
    Expectations {
        policy: Some(trust_policy()),
        ..pinned_key()
    }
}
