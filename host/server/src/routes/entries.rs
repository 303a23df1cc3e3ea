//! Uploading entries (streamed into batched inserts) and listing them.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fairdraw_engine::entry::{DEFAULT_COLLECTION, OwnedEntry};
use fairdraw_engine::entry_file::{self, Format};
use fairdraw_store::{EntryRow, IdempotencyClaim, Scope, StoreError, Upload, UploadOutcome};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::state::AppState;

/// Entries inserted per batch.
const BATCH: usize = 2000;

/// `POST /v1/draws/{id}/entries` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The collection to add to (default `comments`). Entries that name a
    /// collection must name this one.
    pub collection: Option<String>,
    /// `jsonl`, `json` or `csv`; default from the Content-Type
    /// (`application/jsonl`, `application/x-ndjson`, `application/json`, `text/csv`).
    pub format: Option<String>,
}

/// The result of an upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    /// The collection.
    pub collection: String,
    /// Entries added (or, for a repeat, added by the first upload).
    pub entries: i64,
    /// Sequence number of the first entry.
    pub first_seq: i64,
    /// SHA-256 of the body.
    pub body_sha256: String,
    /// `true` when this body had already been uploaded to the collection:
    /// nothing was added.
    pub duplicate: bool,
}

impl From<&UploadOutcome> for UploadView {
    fn from(o: &UploadOutcome) -> Self {
        UploadView {
            collection: o.collection.clone(),
            entries: o.entries,
            first_seq: o.first_seq,
            body_sha256: o.body_sha256.clone(),
            duplicate: o.duplicate,
        }
    }
}

fn check_collection(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "collection",
            "must be 1 to 64 characters of A-Z a-z 0-9 _ -",
        ))
    }
}

/// The rows of parsed entries, checking their collection.
fn to_rows(
    entries: Vec<OwnedEntry>,
    collection: &str,
    first_line: u64,
) -> Result<Vec<EntryRow>, ApiError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            if let Some(c) = e.collection.take()
                && c != collection
            {
                return Err(ApiError::field(
                    "body",
                    format!(
                        "entry {}: collection {c:?}, but this upload is to {collection:?}",
                        first_line + i as u64
                    ),
                ));
            }
            let entry =
                serde_json::to_string(&e).map_err(|err| ApiError::Internal(err.to_string()))?;
            Ok(EntryRow {
                handle: e.handle.into_owned(),
                user_id: e.user_id.into_owned(),
                entry,
            })
        })
        .collect()
}

/// Lazily opened upload: the transaction starts with the first full batch,
/// so a small upload holds the database for one short transaction.
struct Sink<'a> {
    state: &'a AppState,
    org: &'a str,
    draw: &'a str,
    collection: &'a str,
    upload: Option<Upload>,
    pending: Vec<EntryRow>,
}

impl Sink<'_> {
    async fn upload(&mut self) -> Result<&mut Upload, ApiError> {
        if self.upload.is_none() {
            let u = self
                .state
                .store
                .begin_upload(self.org, self.draw, self.collection, self.state.now())
                .await
                .map_err(state_conflict)?;
            self.upload = Some(u);
        }
        self.upload
            .as_mut()
            .ok_or_else(|| ApiError::Internal("upload vanished".into()))
    }

    async fn push(&mut self, rows: Vec<EntryRow>) -> Result<(), ApiError> {
        self.pending.extend(rows);
        if self.pending.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ApiError> {
        let rows = std::mem::take(&mut self.pending);
        self.upload().await?.push(&rows).await?;
        Ok(())
    }
}

fn state_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::State(s) => ApiError::Conflict {
            state: s,
            detail: "entries can only be added to a draft".into(),
            current: None,
        },
        other => other.into(),
    }
}

/// Adds entries to a collection of a draft draw. The body (JSON Lines, a
/// JSON array or CSV) is streamed: JSON Lines are parsed line by line into
/// batched inserts; JSON and CSV are parsed whole (within the upload limit).
/// A repeated upload of the same body to the same collection adds nothing
/// and answers 200 with `duplicate: true`.
#[utoipa::path(
    operation_id = "uploadEntries",post, path = "/v1/draws/{id}/entries", tag = "entries", params(("id" = String, Path), UploadQuery,
        ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = String, content_type = "application/jsonl", description = "JSON Lines, a JSON array or CSV"),
    responses((status = 201, body = UploadView), (status = 200, body = UploadView, description = "Repeat of an earlier upload"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 402, body = Problem, description = "The upload would cross the entries quota; nothing was added"),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Another organisation's draw is 404 whatever the key's scope.
    let draw = state.store.draw(caller.org(), &id).await?;
    caller.require(Scope::Write)?;
    let idem_key = idempotency::key(&headers)?;
    let collection = q
        .collection
        .unwrap_or_else(|| DEFAULT_COLLECTION.to_owned());
    check_collection(&collection)?;
    let format = match q.format.as_deref() {
        Some("jsonl" | "ndjson") => Format::JsonLines,
        Some("json") => Format::JsonArray,
        Some("csv") => Format::Csv,
        Some(_) => return Err(ApiError::field("format", "must be jsonl, json or csv")),
        None => headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(Format::from_media_type)
            .ok_or_else(|| {
                ApiError::UnsupportedMediaType(
                    "send entries as application/jsonl, application/x-ndjson, application/json or text/csv (or pass ?format=)".into(),
                )
            })?,
    };
    // 409 before reading a byte.
    if draw.state != fairdraw_store::DrawState::Draft {
        return Err(state_conflict(StoreError::State(draw.state)));
    }
    // 402 before reading a byte when the entries quota is used up; the
    // exact check is in the upload's transaction, for the whole body.
    state
        .store
        .usage(caller.org())
        .await?
        .check(fairdraw_store::QuotaKind::Entries, 1)?;
    let limit = state.limits.max_upload_bytes;
    let mut sink = Sink {
        state: &state,
        org: caller.org(),
        draw: &id,
        collection: &collection,
        upload: None,
        pending: Vec::new(),
    };
    let mut hasher = Sha256::new();
    let mut total = 0usize;
    let mut buf: Vec<u8> = Vec::new();
    let mut line_no = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        total += chunk.len();
        if total > limit {
            return Err(ApiError::TooLarge(limit));
        }
        hasher.update(&chunk);
        buf.extend_from_slice(&chunk);
        if format == Format::JsonLines {
            let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
                continue;
            };
            let rest = buf.split_off(end + 1);
            let complete = std::mem::replace(&mut buf, rest);
            let rows = parse_lines(&complete, &mut line_no, &collection)?;
            sink.push(rows).await?;
        }
    }
    let rows = match format {
        Format::JsonLines => parse_lines(&buf, &mut line_no, &collection)?,
        other => {
            let entries = entry_file::parse(other, &buf)
                .map_err(|e| ApiError::field("body", e.to_string()))?;
            to_rows(entries, &collection, 1)?
        }
    };
    drop(buf);
    sink.push(rows).await?;
    sink.flush().await?;
    let body_sha = hex::encode(hasher.finalize());
    let upload = sink.upload.take();
    let Some(mut upload) = upload else {
        return Err(ApiError::Internal("upload was never opened".into()));
    };
    let outcome = match idem_key {
        None => upload.finish(&body_sha, None).await?,
        Some(key) => {
            let path = uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
            let hash = idempotency::request_hash(&Method::POST, &path, body_sha.as_bytes());
            match upload.claim_idempotency(caller.org(), &key, &hash).await? {
                IdempotencyClaim::Claimed => {
                    let respond: fairdraw_store::UploadResponse<'_> =
                        Box::new(|o: &UploadOutcome| {
                            let status = if o.duplicate { 200 } else { 201 };
                            let body = serde_json::to_vec(&UploadView::from(o)).unwrap_or_default();
                            (status, "application/json".to_owned(), body)
                        });
                    upload
                        .finish(&body_sha, Some((caller.org(), &key, respond)))
                        .await?
                }
                IdempotencyClaim::Replay {
                    status,
                    content_type,
                    body,
                } => {
                    return Ok(idempotency::replay(status, content_type, body));
                }
                IdempotencyClaim::Mismatch => return Err(ApiError::IdempotencyMismatch),
                IdempotencyClaim::InProgress => return Err(ApiError::IdempotencyInProgress),
            }
        }
    };
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(UploadView::from(&outcome))).into_response())
}

fn parse_lines(
    bytes: &[u8],
    line_no: &mut u64,
    collection: &str,
) -> Result<Vec<EntryRow>, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::field("body", format!("line {}: not UTF-8", *line_no + 1)))?;
    let mut out = Vec::new();
    for line in text.lines() {
        *line_no += 1;
        let line = if *line_no == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        if line.trim().is_empty() {
            continue;
        }
        let e = entry_file::parse_line(line, *line_no)
            .map_err(|e| ApiError::field("body", e.to_string()))?;
        out.extend(to_rows(vec![e], collection, *line_no)?);
    }
    Ok(out)
}

/// `GET /v1/draws/{id}/entries` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEntries {
    /// Only this collection.
    pub collection: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// Why the rules excluded an entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExclusionView {
    /// The rule's field name, e.g. `min_mentions`.
    pub rule: String,
    /// The reason in words.
    pub reason: String,
}

/// One stored entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// Upload order within the draw; the pagination key.
    pub seq: i64,
    /// The collection.
    pub collection: String,
    /// The entry (the engine's entry JSON).
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
    /// Why the rules excluded it; `null` when it counted or the rules have
    /// not run yet (see `rules_applied`).
    pub excluded: Option<ExclusionView>,
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryPage {
    /// Whether the rules ran (the draw is locked or later).
    pub rules_applied: bool,
    /// The entries.
    pub entries: Vec<EntryView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<i64>,
}

/// The draw's entries in upload order, with keyset pagination.
#[utoipa::path(
    operation_id = "listEntries",get, path = "/v1/draws/{id}/entries", tag = "entries", params(("id" = String, Path), ListEntries),
    responses((status = 200, body = EntryPage), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ListEntries>,
) -> Result<Json<EntryPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 1000"));
    }
    let draw = state.store.draw(caller.org(), &id).await?;
    let rows = state
        .store
        .entries(&draw.id, q.collection.as_deref(), q.after, limit)
        .await?;
    let next_after = if rows.len() as i64 == limit {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let entries = rows
        .into_iter()
        .map(|r| {
            let entry: serde_json::Value = serde_json::from_str(&r.entry)
                .map_err(|e| ApiError::Internal(format!("stored entry: {e}")))?;
            Ok(EntryView {
                seq: r.seq,
                collection: r.collection,
                entry,
                excluded: r
                    .exclusion
                    .map(|(rule, reason)| ExclusionView { rule, reason }),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let rules_applied = matches!(
        draw.state,
        fairdraw_store::DrawState::Locked | fairdraw_store::DrawState::Executed
    );
    Ok(Json(EntryPage {
        rules_applied,
        entries,
        next_after,
    }))
}
