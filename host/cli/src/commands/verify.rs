//! `fairdraw verify`.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::keys::KeysDocument;
use fairdraw_engine::log::TrustPolicy;
use fairdraw_engine::text::escape_for_display as esc;
use fairdraw_engine::verify::{Assurance, Expectations, Status, Step, verify_bundle_at_least};

use crate::commands::print_picks;
use crate::{exit, files};

/// Re-do every step of a proof bundle and report each one.
///
/// Exits 0 only when every step holds; otherwise exits 1 and names the
/// first step that failed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The proof bundle: a file, or an `http(s)://` URL (for example
    /// `https://HOST/v1/public/draws/ID/bundle`).
    bundle: String,
    /// The organiser's published public key (64 hex characters).
    #[arg(long, conflicts_with = "key_from")]
    key: Option<String>,
    /// Pin the key from a service's published keys: the URL of its
    /// `/.well-known/fairdraw-keys.json` (or a file). The bundle's key must be
    /// listed there and valid when the lock was signed.
    #[arg(long, value_name = "URL")]
    key_from: Option<String>,
    /// The lock hash the organiser published before the randomness existed.
    #[arg(long)]
    lock_hash: Option<String>,
    /// A trust policy (JSON: the log's verifier key, the trusted witnesses'
    /// keys and the quorum, a file or URL): the bundle must then carry a
    /// log proof of its lock, cosigned by the quorum before the drand round
    /// (step `log`), which shows the draw was not re-locked after the
    /// randomness was known.
    #[arg(long, value_name = "POLICY")]
    policy: Option<String>,
    /// Refuse a bundle of a protocol version below N (an organiser could
    /// otherwise write an older version to escape the newer checks).
    #[arg(long, value_name = "N", default_value_t = fairdraw_engine::OLDEST_PROTOCOL_VERSION)]
    min_protocol: u32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The largest document `verify` downloads: a 10M-entry bundle is ~4.3 GB.
const MAX_DOWNLOAD_BYTES: u64 = 8 << 30;

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Reads a file, or downloads an `http(s)://` URL (following redirects,
/// refusing anything but a 200).
pub fn read_source(source: &str) -> Result<Vec<u8>> {
    if !is_url(source) {
        return files::read(Path::new(source));
    }
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("fairdraw/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let mut response = agent
        .get(source)
        .call()
        .with_context(|| format!("cannot fetch {source}"))?;
    let status = response.status();
    if status != 200 {
        let mut body = String::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(2_000)
            .read_to_string(&mut body);
        bail!("{source} answered {status}: {}", body.trim());
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .read_to_vec()
        .with_context(|| format!("cannot read {source}"))
}

/// The public key a keys document lists for the bundle's lock key, valid
/// when the lock was signed.
fn pinned_key(keys_source: &str, bundle: &[u8]) -> Result<[u8; 32]> {
    let parsed = ParsedBundle::parse(bundle)
        .context("--key-from: the bundle cannot be read to find its signing key")?;
    let doc = KeysDocument::parse(&read_source(keys_source)?)
        .with_context(|| format!("--key-from {keys_source}"))?;
    doc.key_for(&parsed.lock.key_id, parsed.lock.payload.locked_at)
        .with_context(|| format!("--key-from {keys_source}"))
}

/// Parses `--key`, refusing the bundle's key id (also 64 hex digits) with
/// an error that says it is the key id, not the public key.
pub fn parse_public_key(key: &str, bundle: &[u8]) -> Result<[u8; 32]> {
    let parsed = parse_hex_exact::<32>(key).context("--key")?;
    let key_id = ParsedBundle::parse(bundle).ok().map(|b| b.lock.key_id);
    if key_id.is_some_and(|id| id.0 == parsed) {
        bail!(
            "--key: {key} is the bundle's key id (the SHA-256 of the public key), not the public key; \
             pass the organiser's 64-hex-digit public key"
        );
    }
    Ok(parsed)
}

pub fn run(args: Args) -> Result<u8> {
    let bytes = read_source(&args.bundle)?;
    let public_key = match (&args.key, &args.key_from) {
        (Some(key), _) => Some(parse_public_key(key, &bytes)?),
        (None, Some(source)) => {
            let key = pinned_key(source, &bytes)?;
            if !args.json {
                outln!("Key:   {} (pinned from {source})", hex::encode(key));
            }
            Some(key)
        }
        (None, None) => None,
    };
    let expect = Expectations {
        public_key,
        lock_hash: args
            .lock_hash
            .as_deref()
            .map(Hash32::from_hex)
            .transpose()
            .context("--lock-hash")?,
        policy: args
            .policy
            .as_deref()
            .map(|source| {
                TrustPolicy::from_json(&read_source(source)?)
                    .with_context(|| format!("--policy {source}"))
            })
            .transpose()?,
    };
    let report = verify_bundle_at_least(&bytes, &expect, args.min_protocol);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        // The title is the organiser's text: shown only once the receipts
        // are known to be theirs, and escaped even then.
        let identity_holds = [
            Step::Bundle,
            Step::LockSignature,
            Step::ExecutionSignature,
            Step::Signer,
        ]
        .iter()
        .all(|s| report.step(*s).is_some_and(|r| r.status == Status::Passed));
        match (&report.draw_id, report.title.as_deref()) {
            (Some(id), _) if !identity_holds => {
                outln!(
                    "Draw {} (title not shown: the receipts did not check out)",
                    esc(id)
                )
            }
            (Some(id), Some("") | None) => outln!("Draw {}", esc(id)),
            (Some(id), Some(title)) => outln!("Draw {}: {}", esc(id), esc(title)),
            _ => {}
        }
        for s in &report.steps {
            let mark = match s.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::Skipped => "skip",
            };
            outln!("  [{mark}] {:<20} {}", s.step.name(), esc(&s.detail));
        }
        if let Some(p) = report.protocol {
            outln!("Protocol: version {p}");
        }
        if let Some(t) = report.lock_witnessed_at {
            outln!("Logged:   the lock was witnessed by {t}, before the randomness existed");
        }
        for w in &report.warnings {
            outln!("WARNING: {}", esc(w));
        }
        if report.verified() {
            print_picks(&report.winners, &report.alternates);
        }
    }
    match report.first_failure() {
        None if report.verified() => {
            if !args.json {
                let established: Vec<&str> = report
                    .assurance
                    .iter()
                    .map(|a| match a {
                        Assurance::Attributed => "attributed (signed by the pinned key)",
                        Assurance::Logged => "logged (witnessed before the randomness existed)",
                        Assurance::SelfConsistentOnly => {
                            "self-consistent only (no key pinned, no log policy)"
                        }
                    })
                    .collect();
                outln!("Established: {}", established.join("; "));
                outln!("VERIFIED: every step holds");
            }
            Ok(0)
        }
        failure => {
            let step = failure.map(|f| f.step.name()).unwrap_or("bundle");
            eprintln!("NOT VERIFIED: failed at step `{step}`");
            Ok(exit::NOT_VERIFIED)
        }
    }
}
