//! Host-driven pagination: fetch every page of a collection.
//!
//! The plugin fetches one page per call; the host loops, so it can show
//! progress, retry rate limits and outages with exponential backoff and
//! jitter (honouring the platform's `retry-after`), stop at limits, and hand
//! back the cursor to resume from when it stops.
//!
//! Entries are never accumulated here: each page goes to the caller's
//! [`Sink`] (a file, a database) as it arrives, so the host holds one page
//! at a time whatever the source returns. A fetch is bounded in pages
//! ([`MAX_PAGES_PER_FETCH`]), entries and bytes (the plugin's
//! `limits.max_entries_per_fetch` and `limits.max_bytes_per_fetch`, which
//! the operator overrides with [`FetchOptions::max_entries`] and
//! [`FetchOptions::max_bytes`]).

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::time::Duration;

use fairdraw_engine::entry::OwnedEntry;

use super::limits::{Limits, MAX_EMPTY_PAGES_IN_A_ROW, MAX_PAGES_PER_FETCH};
use super::runtime::SourcePlugin;
use super::types::{CallResult, Collection, Fault, FaultKind, Page, PluginError, Post};

/// How long to wait between retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff; doubled on each further attempt.
    pub base_delay: Duration,
    /// The longest single backoff (a longer `retry-after` is still honoured,
    /// within `max_wait`).
    pub max_delay: Duration,
    /// The longest total wait for one page; past it the fetch stops.
    pub max_wait: Duration,
    /// Retries of one page before the fetch stops.
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_wait: Duration::from_secs(300),
            max_retries: 8,
        }
    }
}

/// What to fetch and when to stop.
///
/// Without `max_entries` (`max_bytes`), the plugin's
/// `limits.max_entries_per_fetch` (`limits.max_bytes_per_fetch`) bounds the
/// fetch, and reaching it is an error ([`FetchErrorKind::Bound`]): the list
/// is incomplete and nobody asked for a cut. With it, the operator's value
/// replaces the plugin's, and reaching it is a clean [`Stop`] that can
/// resume: the operator, not the plugin's author, knows how large the
/// giveaway is and what the disk or database can hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// Resume from this cursor (a previous [`FetchError::resume_cursor`] or
    /// [`Fetched::next_cursor`]); `None` starts at the first page.
    pub cursor: Option<String>,
    /// Stop after this many pages.
    pub max_pages: Option<u64>,
    /// Stop once this many entries are fetched (whole pages are kept, so the
    /// count may exceed it by less than one page and the fetch can resume).
    pub max_entries: Option<u64>,
    /// Stop once this many bytes of entries (as JSON Lines) are fetched
    /// (whole pages are kept, as with `max_entries`).
    pub max_bytes: Option<u64>,
    /// Retries of rate limits and outages.
    pub retry: RetryPolicy,
}

/// Where the entries of a fetch go, page by page, as they arrive (as
/// ripgrep's `Searcher` pushes matches into a caller's `Sink`): a file, a
/// database. A `Vec<OwnedEntry>` collects them in memory, for collections
/// known to be small (tests).
pub trait Sink {
    /// Stores the entries of one page, in page order, each with
    /// `collection` set. `next` is the cursor to resume from once this page
    /// is stored (`None`: it was the last page), so a sink that records it
    /// with the entries lets a fetch resume at page granularity.
    ///
    /// An error stops the fetch with [`FetchErrorKind::Sink`]; the page
    /// counts as not fetched, and resuming fetches it again (so a sink
    /// stores a page wholly or not at all).
    fn page(&mut self, entries: Vec<OwnedEntry>, next: Option<&str>) -> Result<(), String>;
}

impl Sink for Vec<OwnedEntry> {
    fn page(&mut self, entries: Vec<OwnedEntry>, _: Option<&str>) -> Result<(), String> {
        self.extend(entries);
        Ok(())
    }
}

/// What happened, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// A page arrived.
    Page,
    /// A page failed with a retryable error; the host waits, then retries.
    Retrying {
        /// The retry about to be made (1 for the first).
        attempt: u32,
        /// How long the host waits first.
        delay: Duration,
        /// The plugin's error.
        error: PluginError,
    },
}

/// Progress so far, passed to the caller's callback.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    /// Pages fetched.
    pub pages: u64,
    /// Entries fetched.
    pub entries: u64,
    /// The platform's total, when it gives one.
    pub total_hint: Option<u64>,
    /// The cursor of the next page.
    pub cursor: Option<&'a str>,
    /// What just happened.
    pub event: ProgressEvent,
}

/// Why the fetch ended without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The last page was fetched.
    Complete,
    /// `max_pages` was reached.
    MaxPages,
    /// `max_entries` was reached.
    MaxEntries,
    /// `max_bytes` was reached.
    MaxBytes,
}

/// What a fetch handed to its sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Entries handed to the sink.
    pub entries: u64,
    /// Their size as JSON Lines, in bytes.
    pub bytes: u64,
    /// Pages fetched.
    pub pages: u64,
    /// The platform's last total hint.
    pub total_hint: Option<u64>,
    /// Why the fetch ended.
    pub stop: Stop,
    /// Where to resume when stopped at a limit; `None` when complete.
    pub next_cursor: Option<String>,
}

/// A bound of one fetch, as [`FetchErrorKind::Bound`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchBound {
    /// `limits.max_entries_per_fetch`: entries.
    Entries(u64),
    /// `limits.max_bytes_per_fetch`: bytes of entries as JSON Lines.
    Bytes(u64),
}

impl fmt::Display for FetchBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchBound::Entries(n) => write!(
                f,
                "more than {n} entries, the most one fetch takes (`limits.max_entries_per_fetch`)"
            ),
            FetchBound::Bytes(n) => write!(
                f,
                "more than {n} bytes of entries, the most one fetch takes (`limits.max_bytes_per_fetch`)"
            ),
        }
    }
}

/// Why the fetch stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// The credentials were refused; retrying will not help.
    Unauthorized(String),
    /// Rate limits or outages lasted longer than the retry policy allows.
    GaveUp {
        /// The last error.
        error: PluginError,
        /// Retries made.
        retries: u32,
        /// Total time waited for this page.
        waited: Duration,
        /// Why the host stopped retrying.
        why: String,
    },
    /// The plugin reported another error (not found, invalid input, …).
    Plugin(PluginError),
    /// The plugin trapped or was stopped.
    Fault(Fault),
    /// The next page would take the fetch past a bound of the plugin's
    /// manifest (or the host's default); it was not handed to the sink.
    Bound {
        /// The plugin's id.
        plugin: String,
        /// The bound.
        bound: FetchBound,
    },
    /// The sink could not store a page.
    Sink(String),
}

/// A fetch that stopped early, with what it handed to the sink and where to
/// resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// Why.
    pub kind: FetchErrorKind,
    /// Entries handed to the sink before the error.
    pub entries: u64,
    /// Their size as JSON Lines, in bytes.
    pub bytes: u64,
    /// Pages fetched (and stored) before the error.
    pub pages: u64,
    /// The cursor of the page that failed: pass it as
    /// [`FetchOptions::cursor`] to resume (`None`: the first page).
    pub resume_cursor: Option<String>,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FetchErrorKind::Unauthorized(m) => {
                write!(f, "the platform refused the credentials: {m}")?
            }
            FetchErrorKind::GaveUp {
                error,
                retries,
                waited,
                why,
            } => write!(
                f,
                "gave up after {retries} retries and {} s of waiting ({why}): {error}",
                waited.as_secs()
            )?,
            FetchErrorKind::Plugin(e) => write!(f, "{e}")?,
            FetchErrorKind::Fault(e) => write!(f, "{e}")?,
            FetchErrorKind::Bound { plugin, bound } => {
                write!(f, "plugin `{plugin}` returned {bound}")?
            }
            FetchErrorKind::Sink(m) => write!(f, "cannot store the entries: {m}")?,
        }
        write!(
            f,
            " — stopped after {} pages ({} entries); ",
            self.pages, self.entries
        )?;
        match &self.resume_cursor {
            Some(c) => write!(f, "resume from cursor {c:?}"),
            None => f.write_str("resume from the first page"),
        }
    }
}

impl std::error::Error for FetchError {}

/// Fetches the pages of `collection` of `post` until the last page or a
/// limit, handing each page's entries to `sink` as it arrives, and calling
/// `progress` after each page and before each retry. Returns what was
/// fetched and why it ended.
///
/// Retries `rate-limited` and `unavailable` with exponential backoff and
/// jitter, waiting at least the platform's `retry-after`; stops with
/// [`FetchErrorKind::GaveUp`] past `max_retries` or `max_wait`. Stops at once
/// on `unauthorized`, any other plugin error, a fault, a page that would
/// pass the plugin's entry or byte bound ([`FetchErrorKind::Bound`], see
/// [`FetchOptions`]) or a sink error. Every error carries the counts handed
/// to the sink so far and the cursor to resume from.
#[allow(
    clippy::result_large_err,
    reason = "returned once per fetch; it carries the error's details and the resume cursor"
)]
pub fn fetch_all(
    source: &SourcePlugin,
    post: &Post,
    collection: Collection,
    options: &FetchOptions,
    sink: &mut impl Sink,
    progress: impl FnMut(&Progress<'_>),
) -> Result<Fetched, FetchError> {
    let mut rng = Jitter::new();
    drive(
        source.id(),
        &source.manifest().limits,
        |cursor| source.fetch_page(post, collection, cursor),
        std::thread::sleep,
        || rng.next(),
        options,
        sink,
        progress,
    )
}

/// The size of an entry as a line of JSON Lines, newline included: what
/// the byte bounds count.
pub fn jsonl_len(entry: &OwnedEntry) -> u64 {
    struct Count(u64);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(1);
    // Serializing strings and integers into a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, entry);
    count.0
}

/// The loop of [`fetch_all`], with the limits, the page fetch, the sleep and
/// the jitter source passed in (tests drive it without a plugin or a clock).
#[allow(
    clippy::too_many_arguments,
    reason = "each is one of fetch_all's I/O edges, passed in for tests"
)]
#[allow(clippy::result_large_err, reason = "as fetch_all")]
pub(crate) fn drive(
    plugin: &str,
    limits: &Limits,
    mut fetch: impl FnMut(Option<&str>) -> CallResult<Page>,
    mut sleep: impl FnMut(Duration),
    mut jitter: impl FnMut() -> f64,
    options: &FetchOptions,
    sink: &mut impl Sink,
    mut progress: impl FnMut(&Progress<'_>),
) -> Result<Fetched, FetchError> {
    let retry = options.retry;
    let mut cursor = options.cursor.clone();
    let mut entries = 0u64;
    let mut bytes = 0u64;
    let mut pages = 0u64;
    let mut total_hint = None;
    let mut retries = 0u32;
    let mut waited = Duration::ZERO;
    // Fingerprints of the cursors asked for so far: a cursor asked for again
    // would loop forever (A, B, A, …). 8 bytes each, at most one per page.
    let hasher = RandomState::new();
    let mut seen: HashSet<u64> = HashSet::new();
    seen.extend(cursor.as_deref().map(|c| hasher.hash_one(c)));
    let mut empty_in_a_row = 0u64;
    // The plugin's bounds, unless the operator set a cut instead.
    let entry_bound = options
        .max_entries
        .is_none()
        .then_some(limits.max_entries_per_fetch);
    let byte_bound = options
        .max_bytes
        .is_none()
        .then_some(limits.max_bytes_per_fetch);

    macro_rules! fail {
        ($kind:expr) => {
            return Err(FetchError {
                kind: $kind,
                entries,
                bytes,
                pages,
                resume_cursor: cursor,
            })
        };
    }

    loop {
        match fetch(cursor.as_deref()) {
            Err(fault) => fail!(FetchErrorKind::Fault(fault)),
            Ok(Err(PluginError::Unauthorized(m))) => fail!(FetchErrorKind::Unauthorized(m)),
            Ok(Err(e)) if e.is_retryable() => {
                let backoff = backoff(&retry, retries, jitter());
                let delay = match &e {
                    PluginError::RateLimited(r) => r
                        .retry_after_seconds
                        .map_or(backoff, |s| backoff.max(Duration::from_secs(s))),
                    _ => backoff,
                };
                let why = if retries >= retry.max_retries {
                    Some(format!("at most {} retries per page", retry.max_retries))
                } else if waited + delay > retry.max_wait {
                    Some(format!(
                        "waiting {} s more would exceed the {} s max wait",
                        delay.as_secs(),
                        retry.max_wait.as_secs()
                    ))
                } else {
                    None
                };
                if let Some(why) = why {
                    fail!(FetchErrorKind::GaveUp {
                        error: e,
                        retries,
                        waited,
                        why
                    });
                }
                retries += 1;
                progress(&Progress {
                    pages,
                    entries,
                    total_hint,
                    cursor: cursor.as_deref(),
                    event: ProgressEvent::Retrying {
                        attempt: retries,
                        delay,
                        error: e,
                    },
                });
                sleep(delay);
                waited += delay;
            }
            Ok(Err(e)) => fail!(FetchErrorKind::Plugin(e)),
            Ok(Ok(page)) => {
                retries = 0;
                waited = Duration::ZERO;
                let page_entries = page.entries.len() as u64;
                let page_bytes: u64 = page.entries.iter().map(jsonl_len).sum();
                let bound = match (entry_bound, byte_bound) {
                    (Some(max), _) if entries + page_entries > max => {
                        Some(FetchBound::Entries(max))
                    }
                    (_, Some(max)) if bytes + page_bytes > max => Some(FetchBound::Bytes(max)),
                    _ => None,
                };
                if let Some(bound) = bound {
                    fail!(FetchErrorKind::Bound {
                        plugin: plugin.to_owned(),
                        bound
                    });
                }
                if let Err(m) = sink.page(page.entries, page.next_cursor.as_deref()) {
                    fail!(FetchErrorKind::Sink(m));
                }
                pages += 1;
                entries += page_entries;
                bytes += page_bytes;
                empty_in_a_row = if page_entries == 0 {
                    empty_in_a_row + 1
                } else {
                    0
                };
                total_hint = page.total_hint.or(total_hint);
                cursor = page.next_cursor;
                progress(&Progress {
                    pages,
                    entries,
                    total_hint,
                    cursor: cursor.as_deref(),
                    event: ProgressEvent::Page,
                });
                let runaway = match cursor.as_deref() {
                    Some(c) if !seen.insert(hasher.hash_one(c)) => Some(format!(
                        "its cursor {:?} repeats an earlier one, so the pages would loop forever",
                        crate::runtime::clean(c, 100)
                    )),
                    Some(_) if empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW => Some(format!(
                        "it returned {empty_in_a_row} empty pages in a row, each with a next cursor"
                    )),
                    Some(_) if pages >= MAX_PAGES_PER_FETCH => Some(format!(
                        "the collection has more than {MAX_PAGES_PER_FETCH} pages, the most one fetch reads"
                    )),
                    _ => None,
                };
                if let Some(message) = runaway {
                    fail!(FetchErrorKind::Fault(Fault {
                        plugin: plugin.to_owned(),
                        kind: FaultKind::BadResult { message },
                    }));
                }
                let stop = if cursor.is_none() {
                    Some(Stop::Complete)
                } else if options.max_entries.is_some_and(|m| entries >= m) {
                    Some(Stop::MaxEntries)
                } else if options.max_bytes.is_some_and(|m| bytes >= m) {
                    Some(Stop::MaxBytes)
                } else if options.max_pages.is_some_and(|m| pages >= m) {
                    Some(Stop::MaxPages)
                } else {
                    None
                };
                if let Some(stop) = stop {
                    return Ok(Fetched {
                        entries,
                        bytes,
                        pages,
                        total_hint,
                        stop,
                        next_cursor: cursor,
                    });
                }
            }
        }
    }
}

/// Exponential backoff with "equal jitter": half the delay fixed, half
/// random, so concurrent clients spread out but never retry immediately.
fn backoff(policy: &RetryPolicy, retries: u32, jitter: f64) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << retries.min(20))
        .min(policy.max_delay);
    exp / 2 + exp.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// A small xorshift generator seeded from the OS, for jitter only.
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Jitter(u64::from_le_bytes(seed) | 1)
    }

    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::VecDeque;

    use super::super::types::{FaultKind, RateLimit};
    use super::*;

    fn entry(n: usize) -> OwnedEntry {
        OwnedEntry {
            platform: Cow::Borrowed("test"),
            user_id: Cow::Owned(n.to_string()),
            handle: Cow::Owned(format!("@u{n}")),
            display_name: Cow::Borrowed(""),
            text: Cow::Borrowed(""),
            created_at: Cow::Borrowed("2025-01-01T00:00:00Z"),
            collection: Some(Cow::Borrowed("likes")),
            followers: None,
            account_created_at: None,
        }
    }

    fn page(from: usize, n: usize, next: Option<&str>) -> CallResult<Page> {
        Ok(Ok(Page {
            entries: (from..from + n).map(entry).collect(),
            next_cursor: next.map(str::to_owned),
            total_hint: Some(100),
        }))
    }

    fn rate_limited(after: Option<u64>) -> CallResult<Page> {
        Ok(Err(PluginError::RateLimited(RateLimit {
            retry_after_seconds: after,
            message: "slow down".into(),
        })))
    }

    /// Runs `drive` over scripted answers with the default limits; returns
    /// the result, the cursors asked for, the sleeps and the progress events.
    fn run(
        script: Vec<CallResult<Page>>,
        options: &FetchOptions,
    ) -> (
        Result<Fetched, FetchError>,
        Vec<Option<String>>,
        Vec<Duration>,
        usize,
    ) {
        let (r, asked, sleeps, events, _) = run_with(&Limits::DEFAULT, script, options);
        (r, asked, sleeps, events)
    }

    /// As [`run`], with `limits`; also returns what the sink got: the
    /// entries and, per page, the cursor it was given.
    #[allow(clippy::type_complexity, reason = "a test helper's tuple")]
    fn run_with(
        limits: &Limits,
        script: Vec<CallResult<Page>>,
        options: &FetchOptions,
    ) -> (
        Result<Fetched, FetchError>,
        Vec<Option<String>>,
        Vec<Duration>,
        usize,
        Vec<OwnedEntry>,
    ) {
        let mut script: VecDeque<_> = script.into();
        let mut asked = Vec::new();
        let mut sleeps = Vec::new();
        let mut events = 0;
        let mut got = Vec::new();
        let r = drive(
            "test",
            limits,
            |c| {
                asked.push(c.map(str::to_owned));
                script.pop_front().expect("script too short")
            },
            |d| sleeps.push(d),
            || 0.5,
            options,
            &mut got,
            |_| events += 1,
        );
        if let Ok(f) = &r {
            assert_eq!(f.entries, got.len() as u64, "the counts are the sink's");
            assert_eq!(f.bytes, got.iter().map(jsonl_len).sum::<u64>());
        }
        (r, asked, sleeps, events, got)
    }

    #[test]
    fn follows_cursors_to_the_end() {
        let (r, asked, sleeps, events) = run(
            vec![
                page(0, 2, Some("a")),
                page(2, 2, Some("b")),
                page(4, 1, None),
            ],
            &FetchOptions::default(),
        );
        let f = r.expect("complete");
        assert_eq!(f.entries, 5);
        assert_eq!(
            (f.pages, f.stop, f.next_cursor, f.total_hint),
            (3, Stop::Complete, None, Some(100))
        );
        assert_eq!(asked, vec![None, Some("a".into()), Some("b".into())]);
        assert!(sleeps.is_empty());
        assert_eq!(events, 3);
    }

    #[test]
    fn retries_with_backoff_honouring_retry_after() {
        let (r, asked, sleeps, _) = run(
            vec![
                page(0, 1, Some("a")),
                rate_limited(None),
                rate_limited(Some(30)),
                Ok(Err(PluginError::Unavailable("503".into()))),
                page(1, 1, None),
            ],
            &FetchOptions::default(),
        );
        assert_eq!(r.expect("complete").entries, 2);
        assert_eq!(
            asked[1..],
            [
                Some("a".into()),
                Some("a".into()),
                Some("a".into()),
                Some("a".into())
            ]
        );
        // base 1 s, jitter 0.5: 0.75 s, then max(1.5 s, 30 s), then 3 s.
        assert_eq!(
            sleeps,
            vec![
                Duration::from_millis(750),
                Duration::from_secs(30),
                Duration::from_secs(3)
            ]
        );
    }

    #[test]
    fn gives_up_past_max_wait_with_the_resume_cursor() {
        let (r, _, sleeps, _) = run(
            vec![page(0, 3, Some("c1")), rate_limited(Some(3600))],
            &FetchOptions::default(),
        );
        let e = r.expect_err("gave up");
        assert!(sleeps.is_empty(), "does not sleep an hour first");
        assert_eq!(e.resume_cursor.as_deref(), Some("c1"));
        assert_eq!(e.entries, 3);
        let msg = e.to_string();
        assert!(msg.contains("exceed the 300 s max wait"), "{msg}");
        assert!(msg.contains("resume from cursor \"c1\""), "{msg}");
    }

    #[test]
    fn gives_up_past_max_retries() {
        let options = FetchOptions {
            retry: RetryPolicy {
                max_retries: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let (r, _, sleeps, _) = run(
            vec![rate_limited(None), rate_limited(None), rate_limited(None)],
            &options,
        );
        let e = r.expect_err("gave up");
        assert_eq!(sleeps.len(), 2);
        assert!(matches!(e.kind, FetchErrorKind::GaveUp { retries: 2, .. }));
        assert_eq!(e.resume_cursor, None);
        assert!(e.to_string().contains("resume from the first page"));
    }

    #[test]
    fn stops_on_unauthorized_with_the_plugins_message() {
        let (r, asked, _, _) = run(
            vec![
                page(0, 1, Some("a")),
                Ok(Err(PluginError::Unauthorized("API key expired".into()))),
            ],
            &FetchOptions::default(),
        );
        let e = r.expect_err("unauthorized");
        assert_eq!(
            e.kind,
            FetchErrorKind::Unauthorized("API key expired".into())
        );
        assert_eq!(asked.len(), 2);
        assert_eq!(e.resume_cursor.as_deref(), Some("a"));
    }

    #[test]
    fn faults_stop_and_keep_the_cursor() {
        let fault = Fault {
            plugin: "p".into(),
            kind: FaultKind::Timeout { timeout_ms: 5 },
        };
        let (r, _, _, _) = run(
            vec![page(0, 1, Some("a")), Err(fault.clone())],
            &FetchOptions::default(),
        );
        let e = r.expect_err("fault");
        assert_eq!(e.kind, FetchErrorKind::Fault(fault));
        assert_eq!(e.resume_cursor.as_deref(), Some("a"));
    }

    #[test]
    fn resumes_and_stops_at_limits() {
        let options = FetchOptions {
            cursor: Some("x".into()),
            max_pages: Some(2),
            ..Default::default()
        };
        let (r, asked, _, _) = run(vec![page(0, 1, Some("y")), page(1, 1, Some("z"))], &options);
        let f = r.expect("limit");
        assert_eq!(asked[0].as_deref(), Some("x"));
        assert_eq!(
            (f.stop, f.next_cursor.as_deref(), f.pages),
            (Stop::MaxPages, Some("z"), 2)
        );

        let options = FetchOptions {
            max_entries: Some(3),
            ..Default::default()
        };
        let (r, _, _, _) = run(vec![page(0, 2, Some("a")), page(2, 2, Some("b"))], &options);
        let f = r.expect("limit");
        assert_eq!(
            (f.stop, f.entries, f.next_cursor.as_deref()),
            (Stop::MaxEntries, 4, Some("b"))
        );
    }

    #[test]
    fn a_repeated_cursor_stops_the_fetch_naming_the_plugin() {
        // Issue 12: A, B, A, … looped forever (only `next == current` was caught).
        let script = vec![
            page(0, 0, Some("A")),
            page(0, 0, Some("B")),
            page(0, 1, Some("A")),
        ];
        let (r, asked, _, _) = run(script, &FetchOptions::default());
        let e = r.expect_err("stops");
        assert_eq!(asked, [None, Some("A".into()), Some("B".into())]);
        assert_eq!(e.pages, 3);
        assert_eq!(
            e.to_string(),
            "plugin `test` broke the plugin contract: its cursor \"A\" repeats an earlier one, so the pages would loop forever — stopped after 3 pages (1 entries); resume from cursor \"A\""
        );
        // The cursor resumed from counts as seen.
        let options = FetchOptions {
            cursor: Some("x".into()),
            ..FetchOptions::default()
        };
        let (r, _, _, _) = run(vec![page(0, 1, Some("x"))], &options);
        assert!(matches!(
            r.expect_err("stops").kind,
            FetchErrorKind::Fault(Fault {
                kind: FaultKind::BadResult { .. },
                ..
            })
        ));
    }

    #[test]
    fn empty_pages_in_a_row_stop_the_fetch() {
        let script: Vec<_> = (0..MAX_EMPTY_PAGES_IN_A_ROW + 5)
            .map(|i| page(0, usize::from(i == 3), Some(&i.to_string())))
            .collect();
        let (r, asked, _, _) = run(script, &FetchOptions::default());
        let e = r.expect_err("stops");
        // One page with an entry resets the count.
        assert_eq!(asked.len() as u64, MAX_EMPTY_PAGES_IN_A_ROW + 4);
        assert!(
            e.to_string().starts_with(&format!(
                "plugin `test` broke the plugin contract: it returned {MAX_EMPTY_PAGES_IN_A_ROW} empty pages in a row"
            )),
            "{e}"
        );
    }

    #[test]
    fn pages_go_to_the_sink_as_they_arrive() {
        // The sink sees each page before the next is asked for, with the
        // cursor to resume from after it.
        struct Log<'a>(&'a std::cell::RefCell<Vec<String>>);
        impl Sink for Log<'_> {
            fn page(&mut self, e: Vec<OwnedEntry>, next: Option<&str>) -> Result<(), String> {
                self.0
                    .borrow_mut()
                    .push(format!("stored {} next {next:?}", e.len()));
                Ok(())
            }
        }
        let log = std::cell::RefCell::new(Vec::new());
        let mut script: VecDeque<_> = vec![page(0, 2, Some("a")), page(2, 1, None)].into();
        let f = drive(
            "test",
            &Limits::DEFAULT,
            |c| {
                log.borrow_mut().push(format!("asked {c:?}"));
                script.pop_front().expect("script too short")
            },
            |_| {},
            || 0.5,
            &FetchOptions::default(),
            &mut Log(&log),
            |_| {},
        )
        .expect("complete");
        assert_eq!(f.entries, 3);
        assert_eq!(
            log.into_inner(),
            [
                "asked None",
                "stored 2 next Some(\"a\")",
                "asked Some(\"a\")",
                "stored 1 next None"
            ]
        );
    }

    #[test]
    fn bytes_are_counted_as_json_lines() {
        let e = entry(7);
        let line = serde_json::to_vec(&e).expect("json");
        assert_eq!(jsonl_len(&e), line.len() as u64 + 1);
    }

    #[test]
    fn the_plugins_entry_bound_stops_before_the_page_that_would_pass_it() {
        let limits = Limits {
            max_entries_per_fetch: 5,
            ..Limits::DEFAULT
        };
        let script = vec![
            page(0, 2, Some("a")),
            page(2, 3, Some("b")),
            page(5, 1, Some("c")),
        ];
        let (r, asked, _, _, got) = run_with(&limits, script, &FetchOptions::default());
        let e = r.expect_err("bound");
        // Exactly at the bound is fine; the page past it is not stored.
        assert_eq!((got.len(), e.entries, e.pages), (5, 5, 2));
        assert_eq!(asked.len(), 3);
        assert_eq!(
            e.kind,
            FetchErrorKind::Bound {
                plugin: "test".into(),
                bound: FetchBound::Entries(5)
            }
        );
        assert_eq!(
            e.to_string(),
            "plugin `test` returned more than 5 entries, the most one fetch takes (`limits.max_entries_per_fetch`) — stopped after 2 pages (5 entries); resume from cursor \"b\""
        );
    }

    #[test]
    fn the_plugins_byte_bound_stops_the_fetch() {
        let one = jsonl_len(&entry(0));
        let limits = Limits {
            max_bytes_per_fetch: one * 3,
            ..Limits::DEFAULT
        };
        let script = vec![page(0, 2, Some("a")), page(2, 2, Some("b"))];
        let (r, _, _, _, got) = run_with(&limits, script, &FetchOptions::default());
        let e = r.expect_err("bound");
        assert_eq!((got.len(), e.bytes), (2, one * 2));
        assert_eq!(e.resume_cursor.as_deref(), Some("a"));
        assert!(
            e.to_string().starts_with(&format!(
                "plugin `test` returned more than {} bytes of entries, the most one fetch takes (`limits.max_bytes_per_fetch`)",
                one * 3
            )),
            "{e}"
        );
    }

    #[test]
    fn the_operators_cut_replaces_the_plugins_bound_and_stops_cleanly() {
        let limits = Limits {
            max_entries_per_fetch: 1,
            max_bytes_per_fetch: 1,
            ..Limits::DEFAULT
        };
        let options = FetchOptions {
            max_entries: Some(3),
            max_bytes: Some(1 << 20),
            ..FetchOptions::default()
        };
        let script = vec![page(0, 2, Some("a")), page(2, 2, Some("b"))];
        let (r, _, _, _, got) = run_with(&limits, script, &options);
        let f = r.expect("a cut, not an error");
        assert_eq!(
            (f.stop, got.len(), f.next_cursor.as_deref()),
            (Stop::MaxEntries, 4, Some("b"))
        );

        let one = jsonl_len(&entry(0));
        let options = FetchOptions {
            max_bytes: Some(one),
            ..FetchOptions::default()
        };
        let (r, _, _, _, _) = run_with(&Limits::DEFAULT, vec![page(0, 2, Some("a"))], &options);
        assert_eq!(r.expect("cut").stop, Stop::MaxBytes);
    }

    #[test]
    fn a_sink_error_stops_the_fetch_at_that_page() {
        struct Full(u32);
        impl Sink for Full {
            fn page(&mut self, _: Vec<OwnedEntry>, _: Option<&str>) -> Result<(), String> {
                self.0 += 1;
                if self.0 > 1 {
                    return Err("no space left on device".into());
                }
                Ok(())
            }
        }
        let mut script: VecDeque<_> = vec![page(0, 2, Some("a")), page(2, 2, Some("b"))].into();
        let e = drive(
            "test",
            &Limits::DEFAULT,
            |_| script.pop_front().expect("script too short"),
            |_| {},
            || 0.5,
            &FetchOptions::default(),
            &mut Full(0),
            |_| {},
        )
        .expect_err("sink failed");
        assert_eq!(
            e.kind,
            FetchErrorKind::Sink("no space left on device".into())
        );
        assert_eq!(
            (e.pages, e.entries, e.resume_cursor.as_deref()),
            (1, 2, Some("a"))
        );
        assert!(
            e.to_string().starts_with(
                "cannot store the entries: no space left on device — stopped after 1 pages"
            ),
            "{e}"
        );
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(&p, 0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 30, 1.0), Duration::from_secs(60));
        let mut j = Jitter::new();
        assert!((0..1000).map(|_| j.next()).all(|x| (0.0..1.0).contains(&x)));
    }
}
