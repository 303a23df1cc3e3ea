//! The HTML pages and the widget's files, built by `web-widget/build.sh`
//! into a directory (`--widget-dir`, `FAIRDRAW_WIDGET_DIR`; by default the
//! source tree's `web-widget/dist`):
//!
//! - `/verify`: the standalone verify page (self-contained: it also works
//!   saved to disk and opened from `file://`);
//! - `/d/{id}`: a draw's results page, built on `<fairdraw-draw>`, with a
//!   print stylesheet that makes the certificate;
//! - `/widget/{file}`: the element's script, its worker and the wasm, under
//!   content-hashed names (`immutable` caching) plus the stable
//!   `fairdraw.js` of the embed snippet (short caching), with CORS so other
//!   sites can load them.
//!
//! Only files listed in the build's `manifest.json` are served. When the
//! widget is not built, each page answers 503 with a page that says how to
//! build it. These pages are not part of the JSON API (nor of its OpenAPI
//! document).

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fairdraw_store::StoreError;
use serde::Deserialize;

use crate::routes::public::IMMUTABLE;
use crate::state::AppState;

/// The widget directory when none is configured: `web-widget/dist` of the
/// source tree the server was built from.
pub fn default_widget_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web-widget/dist")
}

/// `Cache-Control` of the stable entry script `fairdraw.js`: it names the
/// hashed files of the current build, so caches must pick up a new build.
const ENTRY_CACHE: &str = "public, max-age=300";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify", get(verify_page))
        .route("/d/{id}", get(results_page))
        .route(
            "/widget/{file}",
            get(widget_file).layer(axum::middleware::from_fn(allow_any_origin)),
        )
}

/// What `web-widget/build.mjs` wrote into `manifest.json` (the fields read here).
#[derive(Debug, Deserialize)]
struct Manifest {
    /// The stable entry script, `fairdraw.js`.
    entry: String,
    /// The content-hashed files.
    immutable: Vec<String>,
}

/// Why a page cannot be served.
enum PageError {
    NotBuilt(PathBuf, String),
    NotFound(String),
    Internal(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::NotBuilt(dir, why) => {
                tracing::warn!(dir = %dir.display(), %why, "widget not built");
                page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The widget is not built",
                    &format!(
                        "This server has no built widget in {} ({why}). Build it with \
                         <code>make widget</code> (or <code>bash web-widget/build.sh</code>) \
                         or point <code>--widget-dir</code> / <code>FAIRDRAW_WIDGET_DIR</code> \
                         at a built <code>web-widget/dist</code>. The JSON API under \
                         <code>/v1/</code> works without it.",
                        escape(&dir.display().to_string())
                    ),
                )
            }
            PageError::NotFound(what) => page(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("{} was not found.", escape(&what)),
            ),
            PageError::Internal(why) => {
                tracing::error!(%why, "page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Server error",
                    "The page could not be made; the error is in the server's log.",
                )
            }
        }
    }
}

/// A small HTML page for errors.
fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · fairdraw</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem\">\
         <h1>{t}</h1><p>{body_html}</p></body></html>",
        t = escape(title)
    );
    (status, html_headers("no-store"), html).into_response()
}

fn html_headers(cache: &'static str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
    ]
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn read(dir: &Path, name: &str) -> Result<Vec<u8>, PageError> {
    tokio::fs::read(dir.join(name)).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            PageError::NotBuilt(dir.to_owned(), format!("{name} is missing"))
        } else {
            PageError::Internal(format!("reading {}: {e}", dir.join(name).display()))
        }
    })
}

async fn read_text(dir: &Path, name: &str) -> Result<String, PageError> {
    String::from_utf8(read(dir, name).await?)
        .map_err(|e| PageError::Internal(format!("{name} is not UTF-8: {e}")))
}

async fn manifest(dir: &Path) -> Result<Manifest, PageError> {
    serde_json::from_slice(&read(dir, "manifest.json").await?).map_err(|e| {
        PageError::NotBuilt(dir.to_owned(), format!("manifest.json does not read: {e}"))
    })
}

/// `/verify`: the standalone verify page.
async fn verify_page(State(state): State<AppState>) -> Result<Response, PageError> {
    let html = read(&state.widget_dir, "verify.html").await?;
    Ok((html_headers("no-cache"), html).into_response())
}

/// `/d/{id}`: a draw's results page.
async fn results_page(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, PageError> {
    let template = read_text(&state.widget_dir, "results.html").await?;
    let draw = match state.store.public_draw(&id).await {
        Ok(d) => d,
        Err(StoreError::NotFound(_)) => return Err(PageError::NotFound(format!("Draw {id:?}"))),
        Err(e) => return Err(PageError::Internal(e.to_string())),
    };
    let html = template
        .replace("{{DRAW_ID}}", &escape(&draw.id))
        .replace("{{TITLE}}", &escape(&draw.title));
    Ok((html_headers("no-cache"), html).into_response())
}

/// `/widget/{file}`: a file the manifest lists.
async fn widget_file(
    State(state): State<AppState>,
    UrlPath(file): UrlPath<String>,
) -> Result<Response, PageError> {
    let dir = &state.widget_dir;
    let m = manifest(dir).await?;
    let cache = if file == m.entry {
        ENTRY_CACHE
    } else if m.immutable.contains(&file) {
        IMMUTABLE
    } else {
        return Err(PageError::NotFound(format!("/widget/{file}")));
    };
    let content_type = match Path::new(&file).extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    let bytes = read(dir, &file).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    Ok((headers, bytes).into_response())
}

/// Middleware: `Access-Control-Allow-Origin: *` on a response, so pages on
/// other sites can read it (the widget's files and the public, read-only,
/// credential-free API the widget calls).
pub async fn allow_any_origin(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}
