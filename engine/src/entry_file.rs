//! Entry files from bytes: JSON Lines, a JSON array of entries, or CSV with
//! a header row (PROTOCOL.md §4 fixes the entry fields; this module only
//! reads the three file layouts organisers export).
//!
//! The CLI reads files, the server reads request bodies and the browser
//! reads a dropped file; all three hand the bytes to [`parse`], or feed
//! JSON Lines one line at a time to [`parse_line`] to stream.
//!
//! ```
//! use fairdraw_engine::entry_file::{Format, parse};
//!
//! let jsonl = br#"{"platform":"youtube","user_id":"UC1","handle":"@ann","created_at":"2026-01-01T00:00:00Z"}"#;
//! let format = Format::detect(Some("comments.jsonl"), jsonl);
//! let entries = parse(format, jsonl).expect("valid");
//! assert_eq!(entries[0].handle, "@ann");
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::entry::{Entry, EntryError, OwnedEntry};

/// The layouts an entry file can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON entry object per line (`.jsonl`, `.ndjson`); blank lines
    /// are skipped.
    #[serde(rename = "jsonl")]
    JsonLines,
    /// One JSON array of entry objects (`.json`).
    #[serde(rename = "json")]
    JsonArray,
    /// CSV with a header row naming entry fields ([`CSV_FIELDS`]).
    Csv,
}

impl Format {
    /// Picks the format from a file name's extension when it names one,
    /// else from the first non-blank byte: `[` is a JSON array, `{` JSON
    /// Lines, anything else CSV.
    pub fn detect(name: Option<&str>, bytes: &[u8]) -> Format {
        let ext = name
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl" | "ndjson") => Format::JsonLines,
            Some("csv") => Format::Csv,
            _ => match strip_bom(bytes).iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[') => Format::JsonArray,
                Some(b'{') => Format::JsonLines,
                _ => Format::Csv,
            },
        }
    }

    /// The format a media type names: `application/jsonl`,
    /// `application/x-ndjson`, `application/json`, `text/csv`
    /// (parameters such as `; charset=utf-8` ignored). `None` for others.
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "application/jsonl"
            | "application/x-ndjson"
            | "application/x-jsonlines"
            | "application/jsonlines" => Some(Format::JsonLines),
            "application/json" => Some(Format::JsonArray),
            "text/csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Why an entry file cannot be read. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryFileError {
    /// The bytes are not UTF-8.
    #[error("not UTF-8 (byte {0})")]
    NotUtf8(usize),
    /// A JSON Lines line is not a valid entry.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The JSON array cannot be parsed as entries.
    #[error("not a JSON array of entries: {0}")]
    NotJsonArray(String),
    /// An element of the JSON array is not a valid entry.
    #[error("array element {element}: {source}")]
    Element {
        /// 1-based element number.
        element: u64,
        /// What is wrong.
        source: EntryError,
    },
    /// The CSV header row names a column that is not an entry field.
    #[error("unknown CSV column {0:?} (expected some of {fields})", fields = CSV_FIELDS.join(", "))]
    UnknownColumn(String),
    /// The CSV header row names a column twice.
    #[error("CSV column {0:?} appears twice")]
    DuplicateColumn(String),
    /// The CSV header row lacks a required column.
    #[error("CSV has no {0:?} column")]
    MissingColumn(&'static str),
    /// A CSV record is malformed or not a valid entry.
    #[error("CSV line {line}: {message}")]
    Csv {
        /// 1-based line number (0 when the parser cannot tell).
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// The CSV columns an entry file may have; `platform`, `user_id`, `handle`
/// and `created_at` are required.
pub const CSV_FIELDS: [&str; 9] = [
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

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Parses a whole entry file. Every entry is validated
/// ([`Entry::validate`]); the first bad one fails the file, naming its line
/// or element.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<OwnedEntry>, EntryFileError> {
    let text = std::str::from_utf8(strip_bom(bytes))
        .map_err(|e| EntryFileError::NotUtf8(e.valid_up_to()))?;
    match format {
        Format::JsonLines => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, line)| parse_line(line, i as u64 + 1))
            .collect(),
        Format::JsonArray => serde_json::from_str::<Vec<Entry<'_>>>(text)
            .map_err(|e| EntryFileError::NotJsonArray(e.to_string()))?
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                e.validate().map_err(|source| EntryFileError::Element {
                    element: i as u64 + 1,
                    source,
                })?;
                Ok(e.into_owned())
            })
            .collect(),
        Format::Csv => parse_csv(text),
    }
}

/// Parses one line of a JSON Lines file (`line_number` is 1-based and only
/// names the line in the error). The caller skips blank lines.
pub fn parse_line(line: &str, line_number: u64) -> Result<OwnedEntry, EntryFileError> {
    let err = |message: String| EntryFileError::Line {
        line: line_number,
        message,
    };
    let entry = serde_json::from_str::<Entry<'_>>(line).map_err(|e| err(e.to_string()))?;
    entry.validate().map_err(|e| err(e.to_string()))?;
    Ok(entry.into_owned())
}

/// Groups entries by collection name ([`Entry::collection_name`]), keeping
/// their order, as [`crate::draw::LockRequest`] takes them.
pub fn group(entries: Vec<OwnedEntry>) -> BTreeMap<String, Vec<OwnedEntry>> {
    let mut out: BTreeMap<String, Vec<OwnedEntry>> = BTreeMap::new();
    for e in entries {
        out.entry(e.collection_name().to_owned())
            .or_default()
            .push(e);
    }
    out
}

fn parse_csv(text: &str) -> Result<Vec<OwnedEntry>, EntryFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| EntryFileError::Csv {
            line: 1,
            message: format!("header row: {e}"),
        })?
        .clone();
    let mut column = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        if !CSV_FIELDS.contains(&h) {
            return Err(EntryFileError::UnknownColumn(h.to_owned()));
        }
        if column.insert(h.to_owned(), i).is_some() {
            return Err(EntryFileError::DuplicateColumn(h.to_owned()));
        }
    }
    for required in ["platform", "user_id", "handle", "created_at"] {
        if !column.contains_key(required) {
            return Err(EntryFileError::MissingColumn(required));
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths {
                pos,
                expected_len,
                len,
            } => EntryFileError::Csv {
                line: pos.as_ref().map_or(0, |p| p.line()),
                message: format!("{len} fields, but the header has {expected_len}"),
            },
            _ => EntryFileError::Csv {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            },
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
                v.parse::<u64>().map_err(|_| EntryFileError::Csv {
                    line,
                    message: format!("followers {v:?} is not a whole number"),
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
        entry.validate().map_err(|e| EntryFileError::Csv {
            line,
            message: e.to_string(),
        })?;
        out.push(entry);
    }
    Ok(out)
}
