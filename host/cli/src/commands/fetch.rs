//! `fairdraw fetch`: list a post's entries through a source plugin into a
//! JSON Lines file that `fairdraw lock` and `fairdraw draw` read.
//!
//! The host drives pagination ([`fetch_all`]), so it shows progress, waits
//! out rate limits and, when a fetch stops early, keeps what it got:
//! `OUT.partial` holds the entries so far and `OUT.resume.json` the cursor,
//! and `--resume` continues from there. `OUT` itself is written only when
//! the list is complete (or cut at `--max-entries`), never half-fetched.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fairdraw_engine::entry::{Entry, OwnedEntry};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::commands::plugin::{DataDir, credential_vars};
use crate::files;
use crate::plugin::pagination::{
    FetchErrorKind, FetchOptions, Progress, ProgressEvent, RetryPolicy, Stop, fetch_all,
};
use crate::plugin::{Collection, Manifest, PluginError, Post};

/// Fetch a post's entries (comments, likes, ...) through a source plugin.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    data: DataDir,
    /// The source plugin, e.g. `youtube` (see `fairdraw plugin list`).
    #[arg(long)]
    plugin: String,
    /// The post's URL.
    #[arg(long)]
    post: String,
    /// What to list: comments, replies, likes, reposts or followers.
    #[arg(long, value_parser = parse_collection)]
    collection: Collection,
    /// Where to write the entries (JSON Lines).
    #[arg(long)]
    out: PathBuf,
    /// Stop after about this many entries (whole pages are kept); `--resume` continues.
    #[arg(long, value_name = "N")]
    max_entries: Option<u64>,
    /// Continue a fetch into OUT that stopped early, from OUT.resume.json.
    #[arg(long)]
    resume: bool,
    /// The longest wait, in seconds, for one page across rate-limit and outage retries.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_wait: u64,
}

fn parse_collection(s: &str) -> Result<Collection, String> {
    Collection::from_name(s).ok_or_else(|| {
        let names: Vec<_> = Collection::ALL.iter().map(|c| c.name()).collect();
        format!(
            "unknown collection {s:?} (expected one of {})",
            names.join(", ")
        )
    })
}

/// `OUT.partial` and `OUT.resume.json`.
fn side_files(out: &Path) -> (PathBuf, PathBuf) {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (
        out.with_file_name(format!("{name}.partial")),
        out.with_file_name(format!("{name}.resume.json")),
    )
}

fn to_jsonl(entries: &[OwnedEntry]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        serde_json::to_writer(&mut out, e).context("cannot encode an entry")?;
        out.push(b'\n');
    }
    Ok(out)
}

fn read_jsonl(path: &Path) -> Result<Vec<OwnedEntry>> {
    let bytes = files::read(path)?;
    let text =
        std::str::from_utf8(&bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Entry<'_>>(l)
                .map(Entry::into_owned)
                .with_context(|| format!("{} line {}", path.display(), i + 1))
        })
        .collect()
}

/// What `OUT.resume.json` records.
struct ResumeState {
    cursor: Option<String>,
    pages: u64,
}

fn write_resume(
    args: &Args,
    post: &Post,
    entries: &[OwnedEntry],
    cursor: Option<&str>,
    pages: u64,
) -> Result<()> {
    let (partial, state) = side_files(&args.out);
    files::write(&partial, &to_jsonl(entries)?, false)?;
    let doc = json!({
        "plugin": args.plugin,
        "post": post.url,
        "post_id": post.id,
        "collection": args.collection.name(),
        "cursor": cursor,
        "pages": pages,
        "entries": entries.len(),
    });
    let mut bytes = serde_json::to_vec_pretty(&doc).context("cannot encode the resume state")?;
    bytes.push(b'\n');
    files::write(&state, &bytes, false)
}

fn read_resume(args: &Args, post: &Post) -> Result<(ResumeState, Vec<OwnedEntry>)> {
    let (partial, state) = side_files(&args.out);
    if !state.exists() {
        bail!(
            "nothing to resume: {} does not exist (run without --resume to start a fetch)",
            state.display()
        );
    }
    let doc: Value = serde_json::from_slice(&files::read(&state)?)
        .with_context(|| format!("{} is not JSON", state.display()))?;
    let field = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    for (what, saved, now) in [
        ("--plugin", field("plugin"), args.plugin.clone()),
        ("post", field("post_id"), post.id.clone()),
        (
            "--collection",
            field("collection"),
            args.collection.name().to_owned(),
        ),
    ] {
        if saved != now {
            bail!(
                "{} is a fetch of {what} {saved:?}, not {now:?}; resume it with the same arguments, or delete it",
                state.display()
            );
        }
    }
    let cursor = doc.get("cursor").and_then(Value::as_str).map(str::to_owned);
    let pages = doc.get("pages").and_then(Value::as_u64).unwrap_or(0);
    Ok((ResumeState { cursor, pages }, read_jsonl(&partial)?))
}

fn remove_resume(out: &Path) {
    let (partial, state) = side_files(out);
    let _ = std::fs::remove_file(partial);
    let _ = std::fs::remove_file(state);
}

/// What to do about refused credentials: which variables to set.
fn credential_hint(m: &Manifest) -> String {
    let vars = credential_vars(m);
    if vars.is_empty() {
        return format!(
            "Plugin `{}` declares no credentials; the post may need them (see `fairdraw plugin inspect {}`)",
            m.id, m.id
        );
    }
    let list: Vec<_> = vars
        .iter()
        .map(|(name, var, set)| {
            format!(
                "{var} to a valid {name} (it is {})",
                if *set { "set, but refused" } else { "not set" }
            )
        })
        .collect();
    format!("Set {}", list.join(", and "))
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
    label: String,
    prior_pages: u64,
    prior_entries: u64,
    has_total: bool,
}

impl Reporter {
    fn new(label: String, prior_pages: u64, prior_entries: u64) -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(spinner_style());
            bar.set_position(prior_entries);
            bar.set_message(format!("{label}: starting"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Reporter {
            bar,
            label,
            prior_pages,
            prior_entries,
            has_total: false,
        }
    }

    fn update(&mut self, p: &Progress<'_>) {
        let pages = self.prior_pages + p.pages;
        let entries = self.prior_entries + p.entries;
        match &p.event {
            ProgressEvent::Page => {
                let of = p
                    .total_hint
                    .map(|t| format!(" of about {t}"))
                    .unwrap_or_default();
                match &self.bar {
                    Some(bar) => {
                        if let Some(t) = p.total_hint {
                            if !self.has_total {
                                bar.set_style(bar_style());
                                self.has_total = true;
                            }
                            bar.set_length(t.max(entries));
                        }
                        bar.set_position(entries);
                        bar.set_message(format!("{}: page {pages}", self.label));
                    }
                    None => eprintln!("{}: page {pages}, {entries} entries{of}", self.label),
                }
            }
            ProgressEvent::Retrying {
                attempt,
                delay,
                error,
            } => {
                let why = match error {
                    PluginError::RateLimited(r) => match r.retry_after_seconds {
                        Some(s) => format!(
                            "rate limited ({}; the platform says retry after {s} s)",
                            r.message
                        ),
                        None => format!("rate limited ({})", r.message),
                    },
                    other => other.to_string(),
                };
                let line = format!(
                    "{}: {why}; waiting {} s before retry {attempt}",
                    self.label,
                    delay.as_secs_f64().ceil()
                );
                match &self.bar {
                    Some(bar) => {
                        bar.println(&line);
                        bar.set_message(format!(
                            "{}: waiting {} s (retry {attempt})",
                            self.label,
                            delay.as_secs_f64().ceil()
                        ));
                    }
                    None => eprintln!("{line}"),
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}, {pos} entries [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {msg} [{bar:30}] {pos}/{len} entries [{elapsed}, ETA {eta}]",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

pub fn run(args: Args) -> Result<u8> {
    let (partial, state) = side_files(&args.out);
    if !args.resume {
        files::ensure_absent(&args.out)?;
        if state.exists() {
            bail!(
                "an earlier fetch into {} stopped early ({} holds its state): continue it with --resume, or delete {} and {}",
                args.out.display(),
                state.display(),
                state.display(),
                partial.display()
            );
        }
    }
    let rt = args.data.runtime()?;
    let source = rt.source(&args.plugin)?;
    let manifest = source.manifest().clone();
    let info = source
        .describe()
        .with_context(|| format!("plugin `{}` failed to describe itself", args.plugin))?;
    if !info.collections.contains(&args.collection) {
        let can: Vec<_> = info.collections.iter().map(|c| c.name()).collect();
        bail!(
            "plugin `{}` ({}) cannot list {}; it lists: {}",
            args.plugin,
            info.platform,
            args.collection,
            if can.is_empty() {
                "nothing".to_owned()
            } else {
                can.join(", ")
            }
        );
    }
    for (name, var, set) in credential_vars(&manifest) {
        if !set {
            eprintln!(
                "warning: {var} is not set: plugin `{}` runs without its {name} credential",
                args.plugin
            );
        }
    }
    let post = match source
        .parse_url(&args.post)
        .with_context(|| format!("plugin `{}` failed", args.plugin))?
    {
        Ok(p) => p,
        Err(e) => bail!(
            "plugin `{}` does not accept the post {:?}: {e}",
            args.plugin,
            args.post
        ),
    };

    let (cursor, prior, prior_pages) = if args.resume {
        let (s, prior) = read_resume(&args, &post)?;
        eprintln!("Resuming after {} entries ({} pages)", prior.len(), s.pages);
        (s.cursor, prior, s.pages)
    } else {
        (None, Vec::new(), 0)
    };
    let options = FetchOptions {
        cursor,
        max_pages: None,
        max_entries: args
            .max_entries
            .map(|m| m.saturating_sub(prior.len() as u64)),
        retry: RetryPolicy {
            max_wait: Duration::from_secs(args.max_wait),
            ..RetryPolicy::default()
        },
    };
    let label = format!("{} {}", info.platform, args.collection);
    let mut reporter = Reporter::new(label, prior_pages, prior.len() as u64);
    let result = fetch_all(&source, &post, args.collection, &options, |p| {
        reporter.update(p)
    });
    reporter.finish();

    let mut entries = prior;
    match result {
        Ok(fetched) => {
            let pages = prior_pages + fetched.pages;
            entries.extend(fetched.entries);
            files::write(&args.out, &to_jsonl(&entries)?, false)?;
            let what = format!(
                "{} {} from {} ({pages} pages)",
                entries.len(),
                args.collection,
                post.url
            );
            match (fetched.stop, fetched.next_cursor) {
                (Stop::Complete, _) | (_, None) => {
                    remove_resume(&args.out);
                    outln!("Fetched {what} with plugin `{}`", args.plugin);
                }
                (_, Some(next)) => {
                    write_resume(&args, &post, &entries, Some(&next), pages)?;
                    outln!(
                        "Fetched the first {what}: stopped at --max-entries, more remain; continue with --resume"
                    );
                }
            }
            outln!("Wrote {}", args.out.display());
            Ok(0)
        }
        Err(e) => {
            let pages = prior_pages + e.pages;
            entries.extend(e.entries);
            // Keep what was fetched, and where to go on, unless nothing was.
            let kept = if entries.is_empty() && e.resume_cursor.is_none() {
                remove_resume(&args.out);
                "Nothing was fetched".to_owned()
            } else {
                write_resume(&args, &post, &entries, e.resume_cursor.as_deref(), pages)?;
                format!(
                    "The {} entries fetched ({pages} pages) are kept in {}; `--resume` continues from where it stopped",
                    entries.len(),
                    partial.display()
                )
            };
            match e.kind {
                FetchErrorKind::Unauthorized(m) => bail!(
                    "{} refused the credentials of plugin `{}`: {}. {}. {kept}.",
                    info.platform,
                    args.plugin,
                    m.trim_end_matches('.'),
                    credential_hint(&manifest)
                ),
                FetchErrorKind::GaveUp {
                    error,
                    retries,
                    waited,
                    why,
                } => bail!(
                    "gave up after {retries} retries and {} s of waiting ({why}): {}. {kept}.",
                    waited.as_secs(),
                    error.to_string().trim_end_matches('.')
                ),
                FetchErrorKind::Plugin(err) => bail!(
                    "plugin `{}`: {}. {kept}.",
                    args.plugin,
                    err.to_string().trim_end_matches('.')
                ),
                FetchErrorKind::Fault(f) => {
                    bail!("{}. {kept}.", f.to_string().trim_end_matches('.'))
                }
            }
        }
    }
}
