//! The transparency log's public routes: the C2SP `tlog-tiles` read API
//! under `/log/` and a draw's log proofs (C2SP `tlog-proof`).
//!
//! - `GET /log/checkpoint`: the latest checkpoint, a signed note with the
//!   witnesses' cosignatures (short-lived caching);
//! - `GET /log/tile/<L>/<N>[.p/<W>]`: hash tiles, 32-byte hashes;
//! - `GET /log/tile/entries/<N>[.p/<W>]`: entry bundles, each entry a
//!   big-endian `u16` length and the entry's bytes;
//! - `GET /log/key`: the log's verifier key (not part of tlog-tiles).
//!
//! `<N>` in the tlog-tiles path encoding (`x001/x234/067`). Full tiles
//! (256 wide) never change and are served `immutable`; partial ones are
//! replaced by wider ones as the log grows.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use fairdraw_engine::log::LogProof;
use fairdraw_engine::merkle::inclusion_proof;
use fairdraw_store::{LogKind, StoredCheckpoint, TILE_WIDTH};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::routes::public::IMMUTABLE;
use crate::state::AppState;

/// `Cache-Control` of the checkpoint and of partial tiles.
pub const SHORT_LIVED: &str = "public, max-age=1";

fn log_of(state: &AppState) -> Result<&std::sync::Arc<crate::log::LogState>, ApiError> {
    state.log.as_ref().ok_or(ApiError::NotFound(
        "transparency log (this server runs none)",
    ))
}

async fn latest(state: &AppState) -> Result<StoredCheckpoint, ApiError> {
    state
        .store
        .latest_checkpoint()
        .await?
        .ok_or(ApiError::Unavailable(
            "the log has not signed its first checkpoint yet".into(),
        ))
}

fn bytes_response(body: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// `GET /log/checkpoint`.
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    log_of(&state)?;
    let cp = latest(&state).await?;
    let note = cp.cosigned_note()?;
    Ok(bytes_response(
        note.to_bytes(),
        "text/plain; charset=utf-8",
        SHORT_LIVED,
    ))
}

/// `GET /log/key`: the log's verifier key (C2SP signed-note `vkey`), for
/// witness configurations and trust policies. Not part of tlog-tiles.
pub async fn key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let log = log_of(&state)?;
    Ok(bytes_response(
        format!("{}\n", log.vkey).into_bytes(),
        "text/plain; charset=utf-8",
        SHORT_LIVED,
    ))
}

/// A tile path: level (`None` for entry bundles), index, width.
#[derive(Debug, PartialEq, Eq)]
pub struct TilePath {
    /// Hash tile level, or `None` for an entry bundle.
    pub level: Option<u8>,
    /// Tile index.
    pub n: u64,
    /// Width: 256 for a full tile, 1..=255 for a partial one.
    pub width: u64,
}

/// Parses what follows `/log/tile/` per C2SP tlog-tiles. `None` for
/// anything else (a non-canonical spelling included).
pub fn parse_tile_path(rest: &str) -> Option<TilePath> {
    let mut parts: Vec<&str> = rest.split('/').collect();
    let first = parts.remove(0);
    let level = if first == "entries" {
        None
    } else {
        let l: u8 = first.parse().ok()?;
        if l.to_string() != first || l > 63 {
            return None;
        }
        Some(l)
    };
    // A partial tile ends in `.p/<W>`.
    let mut width = TILE_WIDTH;
    if parts.len() >= 2
        && let Some(last_n) = parts[parts.len() - 2].strip_suffix(".p")
    {
        let w: u64 = parts[parts.len() - 1].parse().ok()?;
        if w.to_string() != parts[parts.len() - 1] || !(1..TILE_WIDTH).contains(&w) {
            return None;
        }
        width = w;
        let len = parts.len();
        parts[len - 2] = last_n;
        parts.pop();
    }
    let (last, groups) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = g.strip_prefix('x')?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // No leading all-zero group.
        if i == 0 && digits == "000" {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n = n.checked_mul(1000)?.checked_add(last.parse().ok()?)?;
    Some(TilePath { level, n, width })
}

/// `GET /log/tile/{*path}`: hash tiles and entry bundles.
pub async fn tile(
    State(state): State<AppState>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    log_of(&state)?;
    let t = parse_tile_path(&rest).ok_or(ApiError::NotFound("tile"))?;
    let size = latest(&state).await?.size;
    let level = u32::from(t.level.unwrap_or(0));
    // Nodes available at this height in the checkpointed tree.
    let available = size.checked_shr(8 * level).unwrap_or(0);
    let start =
        t.n.checked_mul(TILE_WIDTH)
            .ok_or(ApiError::NotFound("tile"))?;
    if start.saturating_add(t.width) > available {
        return Err(ApiError::NotFound("tile (beyond the latest checkpoint)"));
    }
    let cache = if t.width == TILE_WIDTH {
        IMMUTABLE
    } else {
        SHORT_LIVED
    };
    let body = match t.level {
        None => {
            let entries = state.store.log_entries(start, t.width).await?;
            let mut out = Vec::new();
            for e in entries {
                let len = u16::try_from(e.len())
                    .map_err(|_| ApiError::Internal("a log entry over 64 KiB".into()))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&e);
            }
            out
        }
        Some(0) => hashes(state.store.log_leaf_hashes(start, t.width).await?),
        Some(l) => hashes(state.store.log_tree_nodes(l, start, t.width).await?),
    };
    if body.is_empty() {
        return Err(ApiError::Internal("a checkpointed tile is missing".into()));
    }
    Ok(bytes_response(body, "application/octet-stream", cache))
}

fn hashes(h: Vec<fairdraw_engine::encoding::Hash32>) -> Vec<u8> {
    h.into_iter().flat_map(|h| h.0).collect()
}

/// A draw's log proofs: C2SP tlog-proof texts for its lock and execution
/// receipts against the latest checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogProofs {
    /// The lock receipt's log proof (`c2sp.org/tlog-proof@v1`: leaf
    /// index, inclusion proof, the cosigned checkpoint).
    pub lock: String,
    /// The execution receipt's log proof, once executed and checkpointed.
    pub execution: Option<String>,
    /// The checkpoint both proofs lead to: the signed note with the
    /// witnesses' cosignatures stored so far.
    pub checkpoint: String,
}

/// The log proofs of a draw's receipts, from the latest checkpoint. A
/// verifier checks each with `verify_log_proof` (the engine) against the
/// log's key and the witnesses it trusts. 404 until the lock receipt is in
/// a checkpoint (usually well under a second after the lock).
#[utoipa::path(
    operation_id = "getLogProofs", get, path = "/v1/public/draws/{id}/log-proofs", tag = "public",
    params(("id" = String, Path)),
    responses((status = 200, body = LogProofs), (status = 404, body = Problem), (status = 429, body = Problem),
        (status = 503, body = Problem)))]
pub async fn log_proofs(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<LogProofs>, ApiError> {
    log_of(&state)?;
    state.store.public_draw(&id).await?;
    // 503 until the log's first checkpoint, as `/log/checkpoint`.
    latest(&state).await?;
    proofs_for(&state, &id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound(
            "log proof (the lock receipt is not in a checkpoint yet)",
        ))
}

/// The log proofs of draw `id` from the latest checkpoint, or `None` when
/// this server runs no log, it has signed no checkpoint yet, or the lock
/// receipt is not in one yet.
pub async fn proofs_for(state: &AppState, id: &str) -> Result<Option<LogProofs>, ApiError> {
    let Some(log) = state.log.clone() else {
        return Ok(None);
    };
    let Some(cp) = state.store.latest_checkpoint().await? else {
        return Ok(None);
    };
    let in_checkpoint =
        |e: Option<fairdraw_store::LoggedEntry>| e.and_then(|e| e.index).filter(|&i| i < cp.size);
    let Some(lock) = in_checkpoint(state.store.logged_entry(id, LogKind::Lock).await?) else {
        return Ok(None);
    };
    let execution = in_checkpoint(state.store.logged_entry(id, LogKind::Execution).await?);
    let note = cp.cosigned_note()?;
    let paths = log
        .with_leaves(&state.store, cp.size, |leaves| {
            let path = |i: u64| inclusion_proof(leaves, i).map(|p| p.path);
            Ok::<_, fairdraw_engine::merkle::MerkleError>((
                path(lock)?,
                execution.map(path).transpose()?,
            ))
        })
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(LogProofs {
        lock: LogProof::new(lock, paths.0, note.clone()).to_text(),
        execution: execution
            .zip(paths.1)
            .map(|(i, p)| LogProof::new(i, p, note.clone()).to_text()),
        checkpoint: note.to_text(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_follow_the_spec_encoding() {
        let p = |s: &str| parse_tile_path(s);
        assert_eq!(
            p("0/000"),
            Some(TilePath {
                level: Some(0),
                n: 0,
                width: 256
            })
        );
        assert_eq!(
            p("1/x001/x234/067"),
            Some(TilePath {
                level: Some(1),
                n: 1_234_067,
                width: 256
            })
        );
        assert_eq!(
            p("entries/x001/002.p/7"),
            Some(TilePath {
                level: None,
                n: 1_002,
                width: 7
            })
        );
        assert_eq!(p("0/001.p/255").map(|t| t.width), Some(255));
        for bad in [
            "0/1",
            "0/0000",
            "00/000",
            "0/x000/001",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "x/000",
            "64/000",
            "0/x01/000",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
