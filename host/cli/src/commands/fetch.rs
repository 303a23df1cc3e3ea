//! `fairdraw fetch`: list the entries of one or more posts, on one or more
//! platforms, through source plugins into one JSON Lines file per
//! collection, the files `fairdraw lock` and `fairdraw draw` read.
//!
//! `--post PLUGIN=URL` names a post and the plugin that reads it; a bare
//! `--post URL` is read by `--plugin`. Both `--post` and `--collection`
//! repeat, so a giveaway posted on several platforms at once becomes one
//! draw: each collection goes to one file (`--out FILE` for a single
//! collection, `DIR/<collection>.jsonl` with `--out-dir DIR`) holding the
//! entries of every post whose plugin lists it, post by post in the order
//! given. Entrants stay accounts per platform (`platform` + `user_id`); a
//! rule that the platforms cannot support is refused later, by `lock`.
//!
//! The host drives pagination ([`fetch_all`]), so it shows progress, waits
//! out rate limits and, when a fetch stops early, keeps what it got. Entries
//! are streamed, never held: each page is appended to `OUT.partial` as it
//! arrives, and `OUT.resume.json` records after each page the state of each
//! of the file's posts (done, or the cursor to go on from) and the length of
//! `OUT.partial` it covers. So memory stays flat however much a source
//! returns, and `--resume` continues from the last page stored, even after
//! the process was killed, without fetching a page twice. `OUT` itself
//! appears only when all its posts are complete (`OUT.partial` is renamed),
//! or as a copy when cut at `--max-entries`/`--max-bytes`, never
//! half-fetched.
//!
//! Entries are not deduplicated here: an account that comments twice is two
//! entries, as the platform listed them, and `lock` groups entries per
//! account (`platform` + `user_id`, rule `entries_per_user`), so no set of
//! every entry's key is needed either.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fairdraw_engine::entry::{Entry, OwnedEntry};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::commands::plugin::{DataDir, credential_vars};
use crate::files;
use crate::plugin::pagination::{
    FetchBound, FetchErrorKind, FetchOptions, Progress, ProgressEvent, RetryPolicy, Sink, Stop,
    fetch_all,
};
use crate::plugin::{
    Collection, Manifest, PluginError, PluginRuntime, Post, SourceInfo, SourcePlugin,
};

/// Fetch the entries (comments, likes, ...) of one or more posts through
/// source plugins, one JSON Lines file per collection.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    data: DataDir,
    /// The source plugin for every bare `--post URL`, e.g. `youtube` (see
    /// `fairdraw plugin list`).
    #[arg(long, value_name = "ID")]
    plugin: Option<String>,
    /// A post: `PLUGIN=URL` (e.g. `instagram=https://www.instagram.com/p/…`),
    /// or a bare URL read by `--plugin`. Repeat for several posts, on the
    /// same or different platforms.
    #[arg(long = "post", value_name = "[PLUGIN=]URL", required = true)]
    posts: Vec<String>,
    /// What to list: comments, replies, likes, reposts or followers. Repeat
    /// for several collections (with `--out-dir`).
    #[arg(long = "collection", value_name = "NAME", value_parser = parse_collection, required = true)]
    collections: Vec<Collection>,
    /// Where to write the entries (JSON Lines), when one collection is listed.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "out_dir",
        conflicts_with = "out_dir"
    )]
    out: Option<PathBuf>,
    /// Write each collection to DIR/<collection>.jsonl (DIR is created).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Stop each file after about this many entries (whole pages are kept);
    /// `--resume` continues. It replaces the plugin's bound
    /// (`limits.max_entries_per_fetch`, default 10,000,000), which, when
    /// reached, stops the fetch with an error instead.
    #[arg(long, value_name = "N")]
    max_entries: Option<u64>,
    /// Stop each file after about this many bytes of entries (JSON Lines;
    /// whole pages are kept); `--resume` continues. It replaces the plugin's
    /// bound (`limits.max_bytes_per_fetch`, default 8 GiB), which, when
    /// reached, stops the fetch with an error instead.
    #[arg(long, value_name = "BYTES")]
    max_bytes: Option<u64>,
    /// Continue a fetch that stopped early, from each OUT.resume.json; files
    /// already complete are kept, files not started are fetched.
    #[arg(long)]
    resume: bool,
    /// The longest wait, in seconds, for one page across rate-limit and outage retries.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_wait: u64,
}

const AFTER_HELP: &str = "\
Several posts, several platforms:
  fairdraw fetch --post instagram=https://www.instagram.com/p/C0de/ \\
                 --post facebook=https://www.facebook.com/acme/posts/123 \\
                 --collection comments --out comments.jsonl
  fairdraw fetch --plugin youtube --post https://youtu.be/VIDEO \\
                 --post mastodon=https://mastodon.social/@acme/1234 \\
                 --collection comments --collection likes --out-dir entries
  Each collection's file holds the entries of every post whose plugin lists
  it, post by post in the order given; a post whose plugin cannot list a
  collection is skipped for it, with a note. Then lock all the files at once:
  fairdraw lock --entries entries/comments.jsonl entries/likes.jsonl ...

Entrants are accounts per platform (platform + user id): the same name on two
platforms is two entrants. `fairdraw lock` refuses rules the platforms cannot
support, naming the rule and the platform: `require_in` a collection with no
entries of an entrant's platform, `min_followers` or `min_account_age_days`
when no entry of a platform carries `followers` or `account_created_at`.";

fn parse_collection(s: &str) -> Result<Collection, String> {
    Collection::from_name(s).ok_or_else(|| {
        let names: Vec<_> = Collection::ALL.iter().map(|c| c.name()).collect();
        format!(
            "unknown collection {s:?} (expected one of {})",
            names.join(", ")
        )
    })
}

/// A `--post` argument: the plugin and what it is given (a URL or an id).
#[derive(Clone, Debug, PartialEq, Eq)]
struct PostArg {
    plugin: String,
    url: String,
}

/// Splits `PLUGIN=URL`; a bare URL (whatever precedes its first `=` is not
/// a plugin id, `[a-z0-9-]+`, as in `https://…?v=…`) goes to `default`.
fn parse_post(arg: &str, default: Option<&str>) -> Result<PostArg> {
    let is_id = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some((plugin, url)) = arg.split_once('=').filter(|(p, _)| is_id(p)) {
        if url.is_empty() {
            bail!("--post {arg:?} names plugin `{plugin}` but no post after the `=`");
        }
        return Ok(PostArg {
            plugin: plugin.to_owned(),
            url: url.to_owned(),
        });
    }
    match default {
        Some(plugin) => Ok(PostArg {
            plugin: plugin.to_owned(),
            url: arg.to_owned(),
        }),
        None => bail!(
            "--post {arg:?} names no plugin: write --post PLUGIN={arg}, or give --plugin for bare URLs"
        ),
    }
}

/// An installed source plugin, loaded once however many posts it reads.
struct Source {
    id: String,
    plugin: SourcePlugin,
    manifest: Manifest,
    info: SourceInfo,
}

impl Source {
    fn load(rt: &PluginRuntime, id: &str) -> Result<Source> {
        let plugin = rt.source(id)?;
        let manifest = plugin.manifest().clone();
        let info = plugin
            .describe()
            .with_context(|| format!("plugin `{id}` failed to describe itself"))?;
        Ok(Source {
            id: id.to_owned(),
            plugin,
            manifest,
            info,
        })
    }

    fn lists(&self) -> String {
        let can: Vec<_> = self.info.collections.iter().map(|c| c.name()).collect();
        if can.is_empty() {
            "nothing".to_owned()
        } else {
            can.join(", ")
        }
    }
}

/// A post, parsed by its plugin.
struct Target<'s> {
    source: &'s Source,
    post: Post,
}

/// One output file and the posts whose entries go into it.
struct Output<'s> {
    collection: Collection,
    path: PathBuf,
    targets: Vec<&'s Target<'s>>,
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

/// What `OUT.resume.json` records: the collection and, for each of its
/// posts in order, how far it got. `OUT.partial` holds the entries of the
/// posts in the same order, `entries` of each, in its first `bytes` bytes
/// (what lies beyond was being written when the fetch stopped, and is cut).
#[derive(Debug, Serialize, Deserialize)]
struct ResumeState {
    collection: String,
    posts: Vec<PostState>,
    entries: u64,
    /// Absent in states written before entries were streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
}

/// How far one post of a file got.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PostState {
    plugin: String,
    post: String,
    post_id: String,
    /// Every page was fetched.
    done: bool,
    /// Where to go on when not done; `None`: from the first page.
    cursor: Option<String>,
    pages: u64,
    entries: u64,
}

impl PostState {
    fn new(t: &Target<'_>) -> PostState {
        PostState {
            plugin: t.source.id.clone(),
            post: t.post.url.clone(),
            post_id: t.post.id.clone(),
            done: false,
            cursor: None,
            pages: 0,
            entries: 0,
        }
    }
}

/// `OUT.partial`, appended to page by page, and `OUT.resume.json`,
/// rewritten after each page: the [`Sink`] of a file's fetches.
struct Partial<'o, 's> {
    out: &'o Output<'s>,
    file: BufWriter<File>,
    posts: Vec<PostState>,
    /// The post being fetched.
    current: usize,
    /// Entries in `OUT.partial`.
    entries: u64,
    /// Its length.
    bytes: u64,
}

impl<'o, 's> Partial<'o, 's> {
    /// A fresh `OUT.partial` (an earlier one, never resumed, is replaced).
    fn create(out: &'o Output<'s>) -> Result<Partial<'o, 's>> {
        let (partial, _) = side_files(&out.path);
        let file = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok(Partial {
            out,
            file: BufWriter::new(file),
            posts: out.targets.iter().map(|t| PostState::new(t)).collect(),
            current: 0,
            entries: 0,
            bytes: 0,
        })
    }

    /// Writes `OUT.resume.json` for what `OUT.partial` holds.
    fn save(&self) -> Result<()> {
        let (_, state) = side_files(&self.out.path);
        let doc = ResumeState {
            collection: self.out.collection.name().to_owned(),
            posts: self.posts.clone(),
            entries: self.entries,
            bytes: Some(self.bytes),
        };
        let mut bytes =
            serde_json::to_vec_pretty(&doc).context("cannot encode the resume state")?;
        bytes.push(b'\n');
        files::write(&state, &bytes, false)
    }

    fn store(&mut self, entries: &[OwnedEntry], next: Option<&str>) -> Result<()> {
        let (partial, _) = side_files(&self.out.path);
        let mut written = 0u64;
        for e in entries {
            let line = serde_json::to_vec(e).context("cannot encode an entry")?;
            self.file
                .write_all(&line)
                .and_then(|()| self.file.write_all(b"\n"))
                .with_context(|| format!("cannot write {}", partial.display()))?;
            written += line.len() as u64 + 1;
        }
        // On disk before the state that counts it.
        self.file
            .flush()
            .and_then(|()| self.file.get_ref().sync_data())
            .with_context(|| format!("cannot write {}", partial.display()))?;
        self.entries += entries.len() as u64;
        self.bytes += written;
        let st = &mut self.posts[self.current];
        st.pages += 1;
        st.entries += entries.len() as u64;
        st.cursor = next.map(str::to_owned);
        st.done = next.is_none();
        self.save()
    }
}

impl Sink for Partial<'_, '_> {
    fn page(&mut self, entries: Vec<OwnedEntry>, next: Option<&str>) -> Result<(), String> {
        self.store(&entries, next).map_err(|e| format!("{e:#}"))
    }
}

/// Reads `OUT.resume.json` (also the forms of earlier versions: a single
/// post, no byte length) and `OUT.partial`, checks they are a fetch of the
/// same posts and collection with as many entries as recorded (reading the
/// file line by line, never whole), cuts what lies past the recorded
/// length, and opens it to append.
fn read_resume<'o, 's>(out: &'o Output<'s>) -> Result<Partial<'o, 's>> {
    let (partial, state) = side_files(&out.path);
    let doc: Value = serde_json::from_slice(&files::read(&state)?)
        .with_context(|| format!("{} is not JSON", state.display()))?;
    let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default();
    let saved: ResumeState = if doc.get("posts").is_some() {
        serde_json::from_value(doc.clone())
            .with_context(|| format!("{} is not a fetch's resume state", state.display()))?
    } else {
        // One post, as written before several posts were supported.
        let cursor = doc.get("cursor").and_then(Value::as_str).map(str::to_owned);
        let entries = doc.get("entries").and_then(Value::as_u64).unwrap_or(0);
        ResumeState {
            collection: field("collection").to_owned(),
            posts: vec![PostState {
                plugin: field("plugin").to_owned(),
                post: field("post").to_owned(),
                post_id: field("post_id").to_owned(),
                done: false,
                cursor,
                pages: doc.get("pages").and_then(Value::as_u64).unwrap_or(0),
                entries,
            }],
            entries,
            bytes: None,
        }
    };
    let mismatch = |what: &str, saved: String, now: String| -> Result<()> {
        if saved != now {
            bail!(
                "{} is a fetch of {what} {saved:?}, not {now:?}; resume it with the same arguments, or delete it",
                state.display()
            );
        }
        Ok(())
    };
    mismatch(
        "--collection",
        saved.collection.clone(),
        out.collection.name().to_owned(),
    )?;
    let list = |posts: &mut dyn Iterator<Item = (&str, &str)>| {
        posts
            .map(|(plugin, id)| format!("{plugin}={id}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if saved.posts.len() != out.targets.len() {
        mismatch(
            "posts",
            list(&mut saved.posts.iter().map(|p| (&*p.plugin, &*p.post_id))),
            list(&mut out.targets.iter().map(|t| (&*t.source.id, &*t.post.id))),
        )?;
    }
    for (s, t) in saved.posts.iter().zip(&out.targets) {
        mismatch("--plugin", s.plugin.clone(), t.source.id.clone())?;
        mismatch("post", s.post_id.clone(), t.post.id.clone())?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&partial)
        .with_context(|| format!("cannot open {}", partial.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read {}", partial.display()))?
        .len();
    let bytes = saved.bytes.unwrap_or(len);
    let counted: u64 = saved.posts.iter().map(|p| p.entries).sum();
    let mismatch = |found: String| {
        anyhow::anyhow!(
            "{} does not match {} ({found}, the state records {counted} entries in {bytes} bytes); delete both and fetch again",
            partial.display(),
            state.display(),
        )
    };
    if len < bytes {
        return Err(mismatch(format!("{len} bytes")));
    }
    // A page being written when the fetch stopped is cut.
    file.set_len(bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let mut entries = 0u64;
    let mut reader = BufReader::new(&file);
    let mut line = String::new();
    for n in 1.. {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .with_context(|| format!("{} line {n}", partial.display()))?;
        if read == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        serde_json::from_str::<Entry<'_>>(&line)
            .with_context(|| format!("{} line {n}", partial.display()))?;
        entries += 1;
    }
    let broken = saved
        .posts
        .iter()
        .any(|p| !p.done && p.cursor.is_none() && p.entries > 0);
    if entries != counted || broken {
        return Err(mismatch(format!("{entries} entries")));
    }
    drop(reader);
    let mut file = file;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))
        .with_context(|| format!("cannot open {}", partial.display()))?;
    let current = saved.posts.iter().position(|p| !p.done).unwrap_or(0);
    Ok(Partial {
        out,
        file: BufWriter::new(file),
        posts: saved.posts,
        current,
        entries,
        bytes,
    })
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

/// The output files: `--out` for one collection, or `DIR/<collection>.jsonl`.
fn output_paths(args: &Args) -> Result<Vec<(Collection, PathBuf)>> {
    let mut seen = Vec::new();
    for c in &args.collections {
        if seen.contains(c) {
            bail!("--collection {c} is given twice");
        }
        seen.push(*c);
    }
    match (&args.out, &args.out_dir) {
        (Some(out), _) => match seen.as_slice() {
            [one] => Ok(vec![(*one, out.clone())]),
            several => {
                let files: Vec<_> = several.iter().map(|c| format!("DIR/{c}.jsonl")).collect();
                bail!(
                    "--out names one file, but {} collections are listed; use --out-dir DIR (it writes {})",
                    several.len(),
                    files.join(", ")
                )
            }
        },
        (None, Some(dir)) => Ok(seen
            .iter()
            .map(|c| (*c, dir.join(format!("{c}.jsonl"))))
            .collect()),
        (None, None) => bail!("give --out FILE or --out-dir DIR"),
    }
}

/// Before anything is fetched: without `--resume` no output or stopped
/// fetch may exist; with it, there must be something to continue.
fn check_outputs(args: &Args, paths: &[(Collection, PathBuf)]) -> Result<()> {
    let states: Vec<_> = paths.iter().map(|(_, p)| side_files(p)).collect();
    if !args.resume {
        for ((_, out), (partial, state)) in paths.iter().zip(&states) {
            files::ensure_absent(out)?;
            if state.exists() {
                bail!(
                    "an earlier fetch into {} stopped early ({} holds its state): continue it with --resume, or delete {} and {}",
                    out.display(),
                    state.display(),
                    state.display(),
                    partial.display()
                );
            }
        }
        return Ok(());
    }
    // With --resume: a file with a state continues, a complete file is
    // kept and a missing one is fetched, unless none was ever started (or
    // all are complete), when there is nothing to resume.
    let started = states.iter().any(|(_, s)| s.exists());
    let existing = paths.iter().filter(|(_, p)| p.exists()).count();
    if !started && (existing == 0 || existing == paths.len()) {
        let names: Vec<_> = states
            .iter()
            .map(|(_, s)| s.display().to_string())
            .collect();
        bail!(
            "nothing to resume: {} does not exist (run without --resume to start a fetch)",
            names.join(" or ")
        );
    }
    Ok(())
}

pub fn run(args: Args) -> Result<u8> {
    let posts = args
        .posts
        .iter()
        .map(|p| parse_post(p, args.plugin.as_deref()))
        .collect::<Result<Vec<_>>>()?;
    let paths = output_paths(&args)?;
    check_outputs(&args, &paths)?;

    // Each plugin once: load, describe, warn about missing credentials.
    let rt = args.data.runtime()?;
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    for p in &posts {
        if sources.contains_key(&p.plugin) {
            continue;
        }
        let source = Source::load(&rt, &p.plugin)?;
        for (name, var, set) in credential_vars(&source.manifest) {
            if !set {
                eprintln!(
                    "warning: {var} is not set: plugin `{}` runs without its {name} credential",
                    source.id
                );
            }
        }
        sources.insert(p.plugin.clone(), source);
    }

    // Every collection must be listable by some post's plugin; a post whose
    // plugin cannot list it is left out of that file, with a note.
    for (collection, _) in &paths {
        let able = posts
            .iter()
            .any(|p| sources[&p.plugin].info.collections.contains(collection));
        if able {
            continue;
        }
        let mut plugins: Vec<&Source> = Vec::new();
        for p in &posts {
            if !plugins.iter().any(|s| s.id == p.plugin) {
                plugins.push(&sources[&p.plugin]);
            }
        }
        let said: Vec<_> = plugins
            .iter()
            .map(|s| {
                format!(
                    "plugin `{}` ({}) cannot list {collection}; it lists: {}",
                    s.id,
                    s.info.platform,
                    s.lists()
                )
            })
            .collect();
        bail!("{}", said.join("; "));
    }

    let mut targets: Vec<Target<'_>> = Vec::new();
    for (arg, p) in args.posts.iter().zip(&posts) {
        let source = &sources[&p.plugin];
        let post = match source
            .plugin
            .parse_url(&p.url)
            .with_context(|| format!("plugin `{}` failed", source.id))?
        {
            Ok(post) => post,
            Err(e) => bail!(
                "plugin `{}` does not accept the post {:?}: {e}",
                source.id,
                p.url
            ),
        };
        if let Some(same) = targets
            .iter()
            .position(|t| t.source.info.platform == source.info.platform && t.post.url == post.url)
        {
            bail!(
                "--post {:?} and --post {arg:?} are the same {} post ({}); give each post once",
                args.posts[same],
                source.info.platform,
                post.url
            );
        }
        targets.push(Target { source, post });
    }

    let outputs: Vec<Output<'_>> = paths
        .into_iter()
        .map(|(collection, path)| Output {
            collection,
            path,
            targets: targets
                .iter()
                .filter(|t| t.source.info.collections.contains(&collection))
                .collect(),
        })
        .collect();
    for out in &outputs {
        for t in targets
            .iter()
            .filter(|t| !t.source.info.collections.contains(&out.collection))
        {
            eprintln!(
                "note: plugin `{}` ({}) cannot list {}: {} has none from {}",
                t.source.id,
                t.source.info.platform,
                out.collection,
                out.path.display(),
                t.post.url
            );
        }
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let several = targets.len() > 1;
    for out in &outputs {
        fetch_output(&args, out, several)?;
    }
    Ok(0)
}

/// Fetches the posts of one output file in order, continuing from its
/// resume state under `--resume`, streaming each page into `OUT.partial`;
/// then makes `OUT`, or keeps what was fetched and fails.
fn fetch_output(args: &Args, out: &Output<'_>, several: bool) -> Result<()> {
    let (partial, state) = side_files(&out.path);
    let mut sink = if args.resume && state.exists() {
        let sink = read_resume(out)?;
        let pages: u64 = sink.posts.iter().map(|s| s.pages).sum();
        eprintln!(
            "Resuming after {} entries ({pages} pages) of {}",
            sink.entries,
            out.path.display()
        );
        sink
    } else if args.resume && out.path.exists() {
        outln!("{} is complete; kept", out.path.display());
        return Ok(());
    } else {
        Partial::create(out)?
    };
    let retry = RetryPolicy {
        max_wait: Duration::from_secs(args.max_wait),
        ..RetryPolicy::default()
    };
    let count = out.targets.len();
    for (i, t) in out.targets.iter().enumerate() {
        if sink.posts[i].done {
            continue;
        }
        let (entries_so_far, bytes_so_far) = (sink.entries, sink.bytes);
        if args.max_entries.is_some_and(|m| entries_so_far >= m)
            || args.max_bytes.is_some_and(|m| bytes_so_far >= m)
        {
            // The file's budget is spent: this post and the later ones wait
            // for --resume.
            break;
        }
        sink.current = i;
        let options = FetchOptions {
            cursor: sink.posts[i].cursor.clone(),
            max_pages: None,
            max_entries: args.max_entries.map(|m| m - entries_so_far),
            max_bytes: args.max_bytes.map(|m| m - bytes_so_far),
            retry,
        };
        let mut label = format!("{} {}", t.source.info.platform, out.collection);
        if count > 1 {
            label.push_str(&format!(" (post {} of {count})", i + 1));
        }
        let mut reporter = Reporter::new(label, sink.posts[i].pages, sink.posts[i].entries);
        let result = fetch_all(
            &t.source.plugin,
            &t.post,
            out.collection,
            &options,
            &mut sink,
            |p| reporter.update(p),
        );
        reporter.finish();

        let fetched = match result {
            Ok(fetched) => fetched,
            Err(e) => {
                // The sink stored every page fetched, and the state the
                // cursor to go on from; keep both, unless nothing was fetched.
                let st = &mut sink.posts[i];
                st.cursor = e.resume_cursor.clone();
                let kept = if sink.entries == 0 && sink.posts.iter().all(|s| s.cursor.is_none()) {
                    drop(sink);
                    remove_resume(&out.path);
                    "Nothing was fetched".to_owned()
                } else {
                    sink.save()?;
                    format!(
                        "The {} entries fetched ({} pages) are kept in {}; `--resume` continues from where it stopped",
                        sink.entries,
                        sink.posts.iter().map(|s| s.pages).sum::<u64>(),
                        partial.display()
                    )
                };
                let at = if several {
                    format!("{} of {}: ", out.collection, t.post.url)
                } else {
                    String::new()
                };
                let (platform, plugin) = (&t.source.info.platform, &t.source.id);
                match e.kind {
                    FetchErrorKind::Unauthorized(m) => bail!(
                        "{at}{platform} refused the credentials of plugin `{plugin}`: {}. {}. {kept}.",
                        m.trim_end_matches('.'),
                        credential_hint(&t.source.manifest)
                    ),
                    FetchErrorKind::GaveUp {
                        error,
                        retries,
                        waited,
                        why,
                    } => bail!(
                        "{at}gave up after {retries} retries and {} s of waiting ({why}): {}. {kept}.",
                        waited.as_secs(),
                        error.to_string().trim_end_matches('.')
                    ),
                    FetchErrorKind::Plugin(err) => bail!(
                        "{at}plugin `{plugin}`: {}. {kept}.",
                        err.to_string().trim_end_matches('.')
                    ),
                    FetchErrorKind::Fault(f) => {
                        bail!("{at}{}. {kept}.", f.to_string().trim_end_matches('.'))
                    }
                    FetchErrorKind::Bound { plugin, bound } => {
                        let flag = match bound {
                            FetchBound::Entries(_) => "--max-entries",
                            FetchBound::Bytes(_) => "--max-bytes",
                        };
                        bail!(
                            "{at}plugin `{plugin}` returned {bound} (its manifest's, or the host's default); if the post really has that many, give {flag}, which replaces the bound. {kept}."
                        )
                    }
                    FetchErrorKind::Sink(m) => bail!("{at}{m}. {kept}."),
                }
            }
        };
        let st = &mut sink.posts[i];
        let what = format!(
            "{} {} from {} ({} pages)",
            st.entries, out.collection, t.post.url, st.pages
        );
        match (fetched.stop, fetched.next_cursor) {
            (Stop::Complete, _) | (_, None) => {
                st.done = true;
                st.cursor = None;
                outln!("Fetched {what} with plugin `{}`", t.source.id);
            }
            (stop, Some(next)) => {
                st.cursor = Some(next);
                let flag = if stop == Stop::MaxBytes {
                    "--max-bytes"
                } else {
                    "--max-entries"
                };
                outln!(
                    "Fetched the first {what}: stopped at {flag}, more remain; continue with --resume"
                );
            }
        }
    }

    let entries = sink.entries;
    if sink.posts.iter().all(|s| s.done) {
        drop(sink);
        std::fs::rename(&partial, &out.path)
            .with_context(|| format!("cannot write {}", out.path.display()))?;
        remove_resume(&out.path);
    } else {
        sink.save()?;
        drop(sink);
        files::copy(&partial, &out.path)?;
    }
    if count > 1 {
        outln!(
            "Wrote {} ({entries} {} from {count} posts)",
            out.path.display(),
            out.collection
        );
    } else {
        outln!("Wrote {}", out.path.display());
    }
    Ok(())
}
