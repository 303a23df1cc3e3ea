//! Re-doing every step of a draw from its proof bundle (PROTOCOL.md §11).
//!
//! [`verify_bundle`] never trusts a number it can re-compute: it re-runs the
//! rules on the raw entries, rebuilds the Merkle root, checks the beacon's BLS
//! signature and timing, re-derives the seed and re-draws the winners, and
//! checks both signatures. It returns a [`Report`] of every step; the bundle
//! is verified only if every step passed.

use serde::Serialize;

use crate::bundle::{BUNDLE_FORMAT, ExecutionPayload, LockPayload, ParsedBundle, Pick};
use crate::draw::{
    DrawError, EntryChecks, Tally, check_window_before_lock, collection_mismatch, draw_indices,
    earliest_execution, tally_as,
};
use crate::encoding::Hash32;
use crate::receipt::{Signed, key_id};
use crate::{OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, protocol_supported};

/// The verification steps, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The file parses as a bundle of a supported format and protocol.
    Bundle,
    /// The lock receipt's Ed25519 signature.
    LockSignature,
    /// The execution receipt's Ed25519 signature.
    ExecutionSignature,
    /// Both receipts come from one key (and the pinned key, if given).
    Signer,
    /// The execution follows this lock: lock hash, draw id, protocol (and
    /// the published lock hash, if given).
    Link,
    /// Protocol 2: the receipts are in a transparency log, in a checkpoint
    /// signed by the log and cosigned by enough trusted witnesses before
    /// the drand round (with a trust policy; PROTOCOL.md §14).
    Log,
    /// Every raw collection matches its committed count and hash.
    Collections,
    /// Re-running the rules gives the committed eligible count and tickets.
    Rules,
    /// The eligible list gives the committed Merkle root.
    Commitment,
    /// The randomness verifies (BLS signature, commitment or RFC 3797
    /// sources) and did not exist at lock time.
    Randomness,
    /// The seed (or RFC 3797 key) is re-derived from the lock and randomness.
    Seed,
    /// Re-drawing gives the same winners and alternates, with their entries.
    Winners,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 12] = [
        Step::Bundle,
        Step::LockSignature,
        Step::ExecutionSignature,
        Step::Signer,
        Step::Link,
        Step::Log,
        Step::Collections,
        Step::Rules,
        Step::Commitment,
        Step::Randomness,
        Step::Seed,
        Step::Winners,
    ];

    /// The step's name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Step::Bundle => "bundle",
            Step::LockSignature => "lock_signature",
            Step::ExecutionSignature => "execution_signature",
            Step::Signer => "signer",
            Step::Link => "link",
            Step::Log => "log",
            Step::Collections => "collections",
            Step::Rules => "rules",
            Step::Commitment => "commitment",
            Step::Randomness => "randomness",
            Step::Seed => "seed",
            Step::Winners => "winners",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The step's check held.
    Passed,
    /// The step's check failed.
    Failed,
    /// An earlier step it depends on failed, so it could not run.
    Skipped,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// Which step.
    pub step: Step,
    /// What happened.
    pub status: Status,
    /// What was checked, or what went wrong.
    pub detail: String,
}

/// What the verifier knows from outside the bundle.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    /// The organiser's published public key. Without it the report says who
    /// signed, but anyone could have.
    pub public_key: Option<[u8; 32]>,
    /// The lock receipt hash published before the randomness existed.
    /// Without it an operator who re-locks and re-executes consistently
    /// cannot be told from an honest one by the bundle alone.
    pub lock_hash: Option<Hash32>,
    /// The transparency logs and witnesses the verifier trusts. With it the
    /// bundle must carry a log proof of its lock, witnessed before the
    /// drand round (step `log`); without it a log proof is only checked
    /// for consistency with itself.
    pub policy: Option<crate::log::TrustPolicy>,
}

/// What a verification established about a draw that verified, beyond the
/// bundle being consistent with itself (PROTOCOL.md §14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    /// The receipts are signed by the organiser's published key (pinned).
    Attributed,
    /// The lock receipt is in a transparency log checkpoint cosigned by
    /// enough trusted witnesses before the randomness existed.
    Logged,
    /// Neither: every step holds, but who signed and when the draw was
    /// locked rest on the bundle's word.
    SelfConsistentOnly,
}

/// The verification report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Every step, in order.
    pub steps: Vec<StepResult>,
    /// The protocol version of both receipts, when the bundle parsed.
    pub protocol: Option<u32>,
    /// What the declared randomness asks a verifier to trust, when the
    /// bundle parsed (PROTOCOL.md §12).
    pub randomness_trust: Option<crate::randomness::Trust>,
    /// [`Report::randomness_trust`] in plain words.
    pub randomness_trust_explained: Option<String>,
    /// What the verdict does not cover, in plain words: a missing pin, an
    /// older protocol version without the newer checks. Printed whether or
    /// not the bundle verified.
    pub warnings: Vec<String>,
    /// The draw's id, when the bundle parsed.
    pub draw_id: Option<String>,
    /// The draw's title, when the bundle parsed.
    pub title: Option<String>,
    /// The signing key's id, when the bundle parsed.
    pub key_id: Option<Hash32>,
    /// The lock receipt's hash, when it could be computed.
    pub lock_hash: Option<Hash32>,
    /// The winners, once the winners step passed.
    pub winners: Vec<Pick>,
    /// The alternates, once the winners step passed.
    pub alternates: Vec<Pick>,
    /// What the verification established ([`Assurance`]); empty unless
    /// every step passed.
    pub assurance: Vec<Assurance>,
    /// When trusted witnesses had seen the lock receipt: the time by which
    /// the policy's quorum had cosigned a checkpoint holding it, once step
    /// `log` passed with a policy.
    pub lock_witnessed_at: Option<crate::time::Timestamp>,
}

impl Report {
    /// Whether every step passed.
    pub fn verified(&self) -> bool {
        self.steps.len() == Step::ALL.len() && self.steps.iter().all(|s| s.status == Status::Passed)
    }

    /// The first step that failed.
    pub fn first_failure(&self) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.status == Status::Failed)
    }

    /// The result of one step.
    pub fn step(&self, step: Step) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.step == step)
    }
}

/// Verifies a proof bundle, re-doing every step. Never panics on any input.
///
/// Every protocol version from [`OLDEST_PROTOCOL_VERSION`] to
/// [`PROTOCOL_VERSION`] is verified under its own rules; see
/// [`verify_bundle_at_least`] to refuse older versions.
pub fn verify_bundle(bytes: &[u8], expect: &Expectations) -> Report {
    verify_bundle_at_least(bytes, expect, OLDEST_PROTOCOL_VERSION)
}

/// [`verify_bundle`], refusing at step `bundle` a bundle whose protocol
/// version is below `min_protocol` (PROTOCOL.md §1: an organiser who wants
/// an older version's looser checks could otherwise simply write that
/// version).
pub fn verify_bundle_at_least(bytes: &[u8], expect: &Expectations, min_protocol: u32) -> Report {
    let mut v = Verifier {
        report: Report {
            protocol: None,
            randomness_trust: None,
            randomness_trust_explained: None,
            warnings: Vec::new(),
            steps: Vec::new(),
            draw_id: None,
            title: None,
            key_id: None,
            lock_hash: None,
            winners: Vec::new(),
            alternates: Vec::new(),
            assurance: Vec::new(),
            lock_witnessed_at: None,
        },
    };
    let bundle = match ParsedBundle::parse(bytes) {
        Ok(b) => b,
        Err(e) => {
            v.fail(Step::Bundle, format!("not a fairdraw bundle: {e}"));
            return v.finish();
        }
    };
    let Some(execution) = bundle.execution.as_ref() else {
        v.fail(
            Step::Bundle,
            "this is a lock file with no execution receipt yet; verify the bundle written by `fairdraw execute`".into(),
        );
        return v.finish();
    };
    let lock = &bundle.lock.payload;
    v.report.draw_id = Some(lock.draw_id.clone());
    v.report.title = Some(lock.title.clone());
    v.report.key_id = Some(bundle.lock.key_id);
    let protocol = lock.protocol;
    let version_problem = if bundle.fairdraw_bundle != BUNDLE_FORMAT {
        Some(format!(
            "bundle format {} is not supported (expected {BUNDLE_FORMAT})",
            bundle.fairdraw_bundle
        ))
    } else if !protocol_supported(protocol) {
        Some(format!(
            "protocol version {protocol} is not supported (this verifier implements versions {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION})"
        ))
    } else if execution.payload.protocol != protocol {
        Some(format!(
            "the lock is protocol {protocol} but the execution is protocol {}; both receipts of a draw are of one version",
            execution.payload.protocol
        ))
    } else if lock.randomness.since_protocol() > protocol {
        Some(format!(
            "{} needs protocol {} or later, but the lock is protocol {protocol}",
            lock.randomness.describe(),
            lock.randomness.since_protocol()
        ))
    } else if lock.sequence.is_some() && protocol < 2 {
        Some(format!(
            "the lock carries a draw sequence number, which needs protocol 2; it is protocol {protocol}"
        ))
    } else if lock.sequence == Some(0) {
        Some("the draw sequence number is 0; an organisation's draws are numbered from 1".into())
    } else if protocol < min_protocol {
        Some(format!(
            "protocol version {protocol} is below the minimum version {min_protocol} asked for; \
             a version {protocol} bundle lacks the checks later versions make"
        ))
    } else {
        None
    };
    let version_problem = version_problem.or_else(|| {
        crate::draw::check_identity_for(protocol, &lock.draw_id, &lock.title)
            .and_then(|()| crate::draw::check_time(protocol, "locked_at", lock.locked_at))
            .and_then(|()| {
                crate::draw::check_time(protocol, "executed_at", execution.payload.executed_at)
            })
            .err()
            .map(|e| e.to_string())
            .or_else(|| check_limits(&bundle))
    });
    if let Some(p) = version_problem {
        v.fail(Step::Bundle, p);
        return v.finish();
    }
    v.report.protocol = Some(protocol);
    v.warn_about(protocol, expect, &lock.randomness);
    v.pass(
        Step::Bundle,
        format!(
            "bundle format {BUNDLE_FORMAT}, protocol {protocol}, draw {:?}",
            lock.draw_id
        ),
    );

    v.signature(Step::LockSignature, &bundle.lock);
    v.signature(Step::ExecutionSignature, execution);
    v.signer(&bundle, execution, expect);
    let lock_hash = v.link(&bundle, execution, expect);
    // Signatures and pins first: a bundle from the wrong key, or not the
    // published lock, is refused before any rule runs (PROTOCOL.md §11).
    let identity = [
        Step::LockSignature,
        Step::ExecutionSignature,
        Step::Signer,
        Step::Link,
    ];
    if !identity.iter().all(|s| v.passed(*s)) {
        return v.finish();
    }
    v.log(&bundle, execution, expect);
    if !v.passed(Step::Log) {
        return v.finish();
    }

    let tally = v.recompute(&bundle);
    v.randomness(lock, &execution.payload);
    v.selection(lock, &execution.payload, lock_hash.as_ref(), tally.as_ref());
    let verified = v.report.verified();
    if verified {
        let a = &mut v.report.assurance;
        if expect.public_key.is_some() {
            a.push(Assurance::Attributed);
        }
        if expect.policy.is_some() {
            a.push(Assurance::Logged);
        }
        if a.is_empty() {
            a.push(Assurance::SelfConsistentOnly);
        }
    }
    v.finish()
}

/// The caps of PROTOCOL.md §9.4 on what the receipts and the bundle hold,
/// checked before any work: collections, rules, RFC 3797 sources.
fn check_limits(bundle: &ParsedBundle<'_>) -> Option<String> {
    use crate::bundle::MAX_COLLECTIONS;
    let lock = &bundle.lock.payload;
    for (what, n) in [
        ("the bundle", bundle.collections.len()),
        ("the lock", lock.collections.len()),
    ] {
        if n > MAX_COLLECTIONS {
            return Some(format!(
                "{what} holds {n} collections, at most {MAX_COLLECTIONS} are allowed"
            ));
        }
    }
    let max_name = crate::rules::limits::MAX_COLLECTION_NAME_CHARS;
    if let Some(name) = bundle
        .collections
        .keys()
        .chain(lock.collections.keys())
        .find(|n| n.chars().count() > max_name)
    {
        return Some(format!(
            "collection name {:?}… is longer than {max_name} characters",
            name.chars().take(max_name).collect::<String>()
        ));
    }
    if let Err(e) = lock.rules.check_limits() {
        return Some(e.to_string());
    }
    if let Err(e) = lock.randomness.check_limits() {
        return Some(e.to_string());
    }
    bundle
        .execution
        .as_ref()
        .and_then(|x| x.payload.randomness.check_limits().err())
        .map(|e| e.to_string())
}

struct Verifier {
    report: Report,
}

impl Verifier {
    fn push(&mut self, step: Step, status: Status, detail: String) {
        self.report.steps.push(StepResult {
            step,
            status,
            detail,
        });
    }
    fn pass(&mut self, step: Step, detail: String) {
        self.push(step, Status::Passed, detail);
    }
    fn fail(&mut self, step: Step, detail: String) {
        self.push(step, Status::Failed, detail);
    }
    fn skip(&mut self, step: Step, because: Step) {
        self.push(
            step,
            Status::Skipped,
            format!("not checked: step `{because}` failed"),
        );
    }
    fn passed(&self, step: Step) -> bool {
        self.report
            .step(step)
            .is_some_and(|s| s.status == Status::Passed)
    }

    /// Marks every step not yet reported as skipped.
    fn finish(mut self) -> Report {
        let failed = self
            .report
            .first_failure()
            .map(|f| f.step)
            .unwrap_or(Step::Bundle);
        for step in Step::ALL {
            if self.report.step(step).is_none() {
                self.skip(step, failed);
            }
        }
        self.report.steps.sort_by_key(|s| s.step);
        self.report
    }

    /// The caveats of a bundle that parsed: what the verdict cannot cover.
    fn warn_about(
        &mut self,
        protocol: u32,
        expect: &Expectations,
        declared: &crate::randomness::Declared,
    ) {
        let trust = declared.trust();
        self.report.randomness_trust = Some(trust);
        self.report.randomness_trust_explained = Some(trust.explain(declared).to_owned());
        let w = &mut self.report.warnings;
        if trust == crate::randomness::Trust::OrganiserTrusted {
            w.push(format!("randomness is {}", trust.explain(declared)));
        }
        if protocol < PROTOCOL_VERSION {
            w.push(format!(
                "this is a protocol {protocol} bundle: it lacks the checks of protocol {PROTOCOL_VERSION} \
                 (invisible and look-alike characters in the rules and title, one spelling of \
                 each platform and user id, no entry or window dated after the lock, one time \
                 form); a verifier can refuse it by asking for protocol {PROTOCOL_VERSION} at least"
            ));
        }
        if expect.public_key.is_none() {
            w.push(
                "no published public key of the organiser was given: the receipts are signed, \
                 but by a key anyone could have made"
                    .into(),
            );
        }
        if expect.lock_hash.is_none() {
            w.push(
                "no published lock hash was given: cannot tell when the draw was locked, so an \
                 organiser who re-locked after seeing the randomness would not be caught"
                    .into(),
            );
        }
    }

    /// Step `log` (PROTOCOL.md §14).
    fn log(
        &mut self,
        bundle: &ParsedBundle<'_>,
        execution: &Signed<ExecutionPayload>,
        expect: &Expectations,
    ) {
        use crate::log::entry::LogEntry;
        use crate::log::{LogProof, verify_log_proof};
        let lock = &bundle.lock.payload;
        let Some(proofs) = &bundle.log else {
            return match &expect.policy {
                Some(_) => self.fail(
                    Step::Log,
                    "the trust policy asks for a log proof of the lock, and the bundle has none"
                        .into(),
                ),
                None => self.pass(
                    Step::Log,
                    "no log proof: when the draw was locked rests on the organiser's word \
                     (and on a published lock hash, if one was given)"
                        .into(),
                ),
            };
        };
        if lock.protocol < 2 {
            return self.fail(
                Step::Log,
                format!(
                    "log proofs need protocol 2; this bundle is protocol {}",
                    lock.protocol
                ),
            );
        }
        let entries = [
            ("lock", Some(&proofs.lock), LogEntry::lock(&bundle.lock)),
            (
                "execution",
                proofs.execution.as_ref(),
                LogEntry::execution(execution),
            ),
        ];
        let mut details = Vec::new();
        for (what, text, entry) in entries {
            let Some(text) = text else { continue };
            let checked = entry.map_err(|e| e.to_string()).and_then(|entry| {
                let proof = LogProof::parse(text.as_bytes()).map_err(|e| e.to_string())?;
                let leaf = entry.leaf_hash();
                match &expect.policy {
                    Some(policy) => verify_log_proof(policy, &leaf, &proof)
                        .map(Some)
                        .map_err(|e| e.to_string()),
                    None => {
                        let cp = crate::log::Checkpoint::parse(proof.checkpoint.text())
                            .map_err(|e| e.to_string())?;
                        crate::log::verify_inclusion(
                            &leaf,
                            proof.index,
                            cp.size,
                            &proof.path,
                            &cp.root,
                        )
                        .map(|()| None)
                        .map_err(|e| e.to_string())
                    }
                }
            });
            match checked {
                Err(e) => {
                    return self.fail(Step::Log, format!("the {what} receipt's log proof: {e}"));
                }
                Ok(None) => details.push(format!(
                    "the {what} receipt's log proof is consistent, but no trust policy was given \
                     to check the log's and witnesses' keys"
                )),
                Ok(Some(evidence)) => {
                    let when = evidence.quorum_witnessed_at.or(evidence.witnessed_at);
                    if what == "lock" {
                        if let Some((chain, round)) = lock.randomness.drand_round() {
                            let due =
                                crate::randomness::drand::chain(chain).map(|c| c.round_time(round));
                            match (when, due) {
                                (Some(w), Some(due)) if w < due => {}
                                (Some(w), Some(due)) => {
                                    return self.fail(
                                        Step::Log,
                                        format!(
                                            "the lock was first witnessed at {w}, not before drand \
                                             round {round} at {due}: it may have been made after \
                                             the randomness was known"
                                        ),
                                    );
                                }
                                _ => {
                                    return self.fail(
                                        Step::Log,
                                        "no witness time bounds when the lock was made".into(),
                                    );
                                }
                            }
                        }
                        self.report.lock_witnessed_at = when;
                    }
                    details.push(format!(
                        "the {what} receipt is entry {} of log {:?} (checkpoint of {} entries), \
                         cosigned by {}{}",
                        evidence.index,
                        evidence.origin,
                        evidence.tree_size,
                        evidence.witnesses.join(", "),
                        when.map(|w| format!(", witnessed by {w}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        if expect.policy.is_none() {
            self.report.warnings.push(
                "the bundle carries a log proof, but no trust policy was given: pass the log's \
                 and the witnesses' keys (--policy) to learn when the draw was locked"
                    .into(),
            );
        }
        self.pass(Step::Log, details.join("; "));
    }

    fn signature<T: crate::receipt::Payload>(&mut self, step: Step, receipt: &Signed<T>) {
        match receipt.verify() {
            Ok(()) => self.pass(
                step,
                format!("valid Ed25519 signature by key {}", receipt.key_id),
            ),
            Err(e) => self.fail(step, e.to_string()),
        }
    }

    fn signer(
        &mut self,
        bundle: &ParsedBundle<'_>,
        execution: &Signed<ExecutionPayload>,
        expect: &Expectations,
    ) {
        let lock_key = &bundle.lock.public_key;
        if *lock_key != execution.public_key {
            return self.fail(
                Step::Signer,
                format!(
                    "the lock was signed by key {} but the execution by key {}",
                    bundle.lock.key_id, execution.key_id
                ),
            );
        }
        match expect.public_key {
            Some(pinned) if pinned.as_slice() != lock_key.0.as_slice() => self.fail(
                Step::Signer,
                format!(
                    "signed by key {}, not by the expected key {}",
                    bundle.lock.key_id,
                    key_id(&pinned)
                ),
            ),
            Some(_) => self.pass(Step::Signer, format!("both receipts signed by the expected key {}", bundle.lock.key_id)),
            None => self.pass(
                Step::Signer,
                format!(
                    "both receipts signed by key {} (no expected key given: check it is the organiser's published key)",
                    bundle.lock.key_id
                ),
            ),
        }
    }

    fn link(
        &mut self,
        bundle: &ParsedBundle<'_>,
        execution: &Signed<ExecutionPayload>,
        expect: &Expectations,
    ) -> Option<Hash32> {
        let lock_hash = match bundle.lock.hash() {
            Ok(h) => h,
            Err(e) => {
                self.fail(Step::Link, e.to_string());
                return None;
            }
        };
        self.report.lock_hash = Some(lock_hash);
        let exec = &execution.payload;
        let problem =
            if exec.lock_hash != lock_hash {
                Some(format!(
                    "the execution follows lock {}, but this bundle's lock hashes to {lock_hash}",
                    exec.lock_hash
                ))
            } else if exec.draw_id != bundle.lock.payload.draw_id {
                Some(format!(
                    "the execution is for draw {:?}, the lock for draw {:?}",
                    exec.draw_id, bundle.lock.payload.draw_id
                ))
            } else {
                expect.lock_hash.filter(|p| *p != lock_hash).map(|published| {
                format!(
                    "the lock hashes to {lock_hash}, not to the published lock hash {published}"
                )
            })
            };
        match problem {
            Some(p) => self.fail(Step::Link, p),
            None => self.pass(
                Step::Link,
                format!(
                    "execution follows lock {lock_hash}{}",
                    if expect.lock_hash.is_some() {
                        " (the published lock)"
                    } else {
                        ""
                    }
                ),
            ),
        }
        Some(lock_hash)
    }

    /// Steps collections, rules and commitment.
    fn recompute<'a>(&mut self, bundle: &ParsedBundle<'a>) -> Option<Tally<'a>> {
        let lock = &bundle.lock.payload;
        let valid = lock
            .rules
            .validate_for(lock.protocol)
            .and_then(|()| check_window_before_lock(lock.protocol, &lock.rules, lock.locked_at));
        if let Err(e) = valid {
            self.fail(Step::Rules, format!("the committed rules are invalid: {e}"));
            return None;
        }
        let checks = EntryChecks::of_lock(lock);
        let tally = match tally_as(&lock.rules, &bundle.collections, None, checks) {
            Ok(t) => t,
            Err(DrawError::Rules(e)) => {
                self.pass(Step::Collections, "entries parse".into());
                self.fail(Step::Rules, e.to_string());
                return None;
            }
            Err(e) => {
                self.fail(Step::Collections, e.to_string());
                return None;
            }
        };
        if let Some(p) = collection_mismatch(&lock.collections, &tally.collections) {
            self.fail(Step::Collections, p);
            return None;
        }
        let entries: u64 = tally.collections.values().map(|c| c.entries).sum();
        self.pass(
            Step::Collections,
            format!(
                "{} collection(s), {entries} entries, every hash matches",
                tally.collections.len()
            ),
        );

        let eligible = tally.evaluation.eligible.len() as u64;
        let wanted = u64::from(lock.winners) + u64::from(lock.alternates);
        let rules_problem = if lock.winners != lock.rules.winners
            || lock.alternates != lock.rules.alternates()
        {
            Some(format!(
                "the lock draws {} winners and {} alternates, the rules say {} and {}",
                lock.winners,
                lock.alternates,
                lock.rules.winners,
                lock.rules.alternates()
            ))
        } else if lock.eligible != eligible || lock.total_tickets != tally.evaluation.total_tickets
        {
            Some(format!(
                "the lock says {} eligible entrants with {} tickets; re-running the rules gives {eligible} with {}",
                lock.eligible, lock.total_tickets, tally.evaluation.total_tickets
            ))
        } else if eligible < wanted {
            Some(format!(
                "{eligible} entrants are eligible, fewer than the {wanted} winners and alternates the lock draws; such a lock cannot be made"
            ))
        } else {
            None
        };
        match rules_problem {
            Some(p) => {
                self.fail(Step::Rules, p);
                return None;
            }
            None => self.pass(
                Step::Rules,
                format!(
                    "{eligible} eligible entrants, {} tickets",
                    tally.evaluation.total_tickets
                ),
            ),
        }

        if lock.merkle_root != tally.merkle_root {
            self.fail(
                Step::Commitment,
                format!(
                    "the lock commits to root {}, the eligible list gives {}",
                    lock.merkle_root, tally.merkle_root
                ),
            );
            return None;
        }
        self.pass(
            Step::Commitment,
            format!("Merkle root {} over {eligible} leaves", tally.merkle_root),
        );
        Some(tally)
    }

    fn randomness(&mut self, lock: &LockPayload, exec: &ExecutionPayload) {
        let checked = lock
            .randomness
            .check_for(lock.protocol)
            .and_then(|()| lock.randomness.verify(&exec.randomness, lock.locked_at));
        if let Err(e) = checked {
            return self.fail(Step::Randomness, e.to_string());
        }
        let earliest = earliest_execution(lock);
        if exec.executed_at < earliest {
            return self.fail(
                Step::Randomness,
                format!(
                    "executed at {}, before the randomness existed ({earliest})",
                    exec.executed_at
                ),
            );
        }
        let mut detail = format!(
            "{}; locked at {}; {}",
            lock.randomness.describe(),
            lock.locked_at,
            lock.randomness.trust().explain(&lock.randomness)
        );
        if let crate::randomness::Declared::Rfc3797 { sources, .. } = &lock.randomness {
            detail.push_str(&format!(
                "; check by hand that these values are what the sources named at lock time produced: {sources:?}"
            ));
        }
        self.pass(Step::Randomness, detail);
    }

    fn selection(
        &mut self,
        lock: &LockPayload,
        exec: &ExecutionPayload,
        lock_hash: Option<&Hash32>,
        tally: Option<&Tally<'_>>,
    ) {
        let (Some(lock_hash), Some(tally)) = (lock_hash, tally) else {
            let because = if lock_hash.is_none() {
                Step::Link
            } else {
                self.first_failed_of(&[Step::Collections, Step::Rules, Step::Commitment])
            };
            self.skip(Step::Seed, because);
            self.skip(Step::Winners, because);
            return;
        };
        if !self.passed(Step::Randomness) {
            self.skip(Step::Seed, Step::Randomness);
            self.skip(Step::Winners, Step::Randomness);
            return;
        }
        let (selection, indices) =
            match draw_indices(lock_hash, lock, &exec.randomness, &tally.tickets) {
                Ok(x) => x,
                Err(e) => {
                    self.fail(Step::Seed, e.to_string());
                    self.skip(Step::Winners, Step::Seed);
                    return;
                }
            };
        if selection != exec.selection {
            self.fail(
                Step::Seed,
                format!(
                    "the receipt's selection input is {}, re-derived it is {}",
                    serde_json::to_string(&exec.selection).unwrap_or_default(),
                    serde_json::to_string(&selection).unwrap_or_default()
                ),
            );
            self.skip(Step::Winners, Step::Seed);
            return;
        }
        self.pass(
            Step::Seed,
            format!(
                "re-derived {}",
                serde_json::to_string(&selection).unwrap_or_default()
            ),
        );

        let recorded: Vec<&Pick> = exec.winners.iter().chain(&exec.alternates).collect();
        let eligible = &tally.evaluation.eligible;
        let problem = if exec.winners.len() != lock.winners as usize
            || exec.alternates.len() != lock.alternates as usize
        {
            Some(format!(
                "the receipt lists {} winners and {} alternates, the lock draws {} and {}",
                exec.winners.len(),
                exec.alternates.len(),
                lock.winners,
                lock.alternates
            ))
        } else {
            indices
                .iter()
                .zip(&recorded)
                .enumerate()
                .find_map(|(i, (&leaf, pick))| {
                    let e = &eligible[leaf as usize];
                    let role = if i < lock.winners as usize {
                        format!("winner {}", i + 1)
                    } else {
                        format!("alternate {}", i + 1 - lock.winners as usize)
                    };
                    if pick.leaf_index != leaf {
                        Some(format!(
                            "{role}: the receipt names leaf {}, re-drawing gives leaf {leaf} ({})",
                            pick.leaf_index, e.handle
                        ))
                    } else if pick.tickets != e.tickets {
                        Some(format!(
                            "{role}: the receipt gives {} tickets, the rules give {}",
                            pick.tickets, e.tickets
                        ))
                    } else if pick.entry.hash() != e.entry_hash || pick.entry.collection.is_some() {
                        Some(format!(
                            "{role}: the receipt's entry for {} is not the entry in the collection",
                            e.handle
                        ))
                    } else {
                        None
                    }
                })
        };
        match problem {
            Some(p) => self.fail(Step::Winners, p),
            None => {
                self.report.winners = exec.winners.clone();
                self.report.alternates = exec.alternates.clone();
                self.pass(
                    Step::Winners,
                    format!(
                        "{} winner(s) and {} alternate(s) re-drawn identically",
                        exec.winners.len(),
                        exec.alternates.len()
                    ),
                )
            }
        }
    }

    fn first_failed_of(&self, steps: &[Step]) -> Step {
        steps
            .iter()
            .copied()
            .find(|s| {
                self.report
                    .step(*s)
                    .is_some_and(|r| r.status == Status::Failed)
            })
            .unwrap_or(steps[0])
    }
}
