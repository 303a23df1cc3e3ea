//! Reading entry files: JSON Lines, a JSON array, or CSV with a header row.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use fairdraw_engine::entry::{Entry, OwnedEntry};

use crate::files;

/// The formats `--entries` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    JsonLines,
    JsonArray,
    Csv,
}

/// Picks the format from the extension, else from the first byte.
fn detect(path: &Path, text: &str) -> Format {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl" | "ndjson") => Format::JsonLines,
        Some("csv") => Format::Csv,
        _ => match text.trim_start().as_bytes().first() {
            Some(b'[') => Format::JsonArray,
            Some(b'{') => Format::JsonLines,
            _ => Format::Csv,
        },
    }
}

/// Reads entry files and groups their entries by collection.
pub fn load(paths: &[impl AsRef<Path>]) -> Result<BTreeMap<String, Vec<OwnedEntry>>> {
    let mut out: BTreeMap<String, Vec<OwnedEntry>> = BTreeMap::new();
    for path in paths {
        let path = path.as_ref();
        for e in load_file(path)? {
            out.entry(e.collection_name().to_owned())
                .or_default()
                .push(e);
        }
    }
    Ok(out)
}

fn load_file(path: &Path) -> Result<Vec<OwnedEntry>> {
    let bytes = files::read(path)?;
    let text =
        std::str::from_utf8(&bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let name = path.display();
    let entries = match detect(path, text) {
        Format::JsonLines => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, line)| {
                let entry = serde_json::from_str::<Entry<'_>>(line)
                    .map_err(anyhow::Error::from)
                    .and_then(|e| e.validate().map(|()| e.into_owned()).map_err(Into::into));
                entry.with_context(|| format!("{name} line {}", i + 1))
            })
            .collect::<Result<Vec<_>>>()?,
        Format::JsonArray => serde_json::from_str::<Vec<Entry<'_>>>(text)
            .with_context(|| format!("{name}: not a JSON array of entries"))?
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                e.validate()
                    .with_context(|| format!("{name}: array element {}", i + 1))?;
                Ok(e.into_owned())
            })
            .collect::<Result<Vec<_>>>()?,
        Format::Csv => read_csv(text).with_context(|| format!("{name}"))?,
    };
    Ok(entries)
}

const CSV_FIELDS: [&str; 9] = [
    "platform",
    "user_id",
    "handle",
    "display_name",
    "text",
    "created_at",
    "collection",
    "followers",
    "account_created_at",
];

fn read_csv(text: &str) -> Result<Vec<OwnedEntry>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().context("CSV header row")?.clone();
    let mut column = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        if !CSV_FIELDS.contains(&h) {
            bail!(
                "unknown CSV column {h:?} (expected some of {})",
                CSV_FIELDS.join(", ")
            );
        }
        if column.insert(h.to_owned(), i).is_some() {
            bail!("CSV column {h:?} appears twice");
        }
    }
    for required in ["platform", "user_id", "handle", "created_at"] {
        if !column.contains_key(required) {
            bail!("CSV has no {required:?} column");
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths {
                pos,
                expected_len,
                len,
            } => anyhow::anyhow!(
                "CSV line {}: {len} fields, but the header has {expected_len}",
                pos.as_ref().map_or(0, |p| p.line())
            ),
            _ => anyhow::anyhow!("CSV: {e}"),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |f: &str| {
            column
                .get(f)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let optional = |f: &str| Some(get(f)).filter(|v| !v.is_empty());
        let followers = optional("followers")
            .map(|v| {
                v.parse::<u64>().with_context(|| {
                    format!("CSV line {line}: followers {v:?} is not a whole number")
                })
            })
            .transpose()?;
        let entry = Entry {
            platform: Cow::Owned(get("platform")),
            user_id: Cow::Owned(get("user_id")),
            handle: Cow::Owned(get("handle")),
            display_name: Cow::Owned(get("display_name")),
            text: Cow::Owned(get("text")),
            created_at: Cow::Owned(get("created_at")),
            collection: optional("collection").map(Cow::Owned),
            followers,
            account_created_at: optional("account_created_at").map(Cow::Owned),
        };
        entry
            .validate()
            .with_context(|| format!("CSV line {line}"))?;
        out.push(entry);
    }
    Ok(out)
}
