//! The component side: the WIT imports and conversions to the SDK's types.
//!
//! Only the imports (and the shared `types`) are generated here, in a world
//! of the SDK's own that exports nothing. Each plugin's export macro
//! generates its one world in the plugin's crate and points wit-bindgen's
//! `with` at these modules, so both sides share one set of types.

use crate::http::{Header, HttpError, Request, Response};
use crate::log::Level;
use crate::{Collection, Entry, EntryRef, PluginError, RateLimit};

/// The generated bindings of the imports.
#[allow(
    unsafe_code,
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all
)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v0.1",
        inline: "
            package fairdraw:plugin-sdk;

            world imports {
                import fairdraw:plugin/types@0.1.0;
                import fairdraw:plugin/http@0.1.0;
                import fairdraw:plugin/log@0.1.0;
                import fairdraw:plugin/config@0.1.0;
            }
        ",
        world: "fairdraw:plugin-sdk/imports",
        generate_unused_types: true,
        generate_all,
    });
}

use bindings::fairdraw::plugin::{
    config as wit_config, http as wit_http, log as wit_log, types as wit,
};

pub(crate) fn send(request: &Request) -> Result<Response, HttpError> {
    let request = wit_http::Request {
        method: request.method.clone(),
        url: request.url.clone(),
        headers: request
            .headers
            .iter()
            .map(|h| wit_http::Header {
                name: h.name.clone(),
                value: h.value.clone(),
            })
            .collect(),
        body: request.body.clone(),
    };
    match wit_http::send(&request) {
        Ok(r) => Ok(Response {
            status: r.status,
            headers: r
                .headers
                .into_iter()
                .map(|h| Header {
                    name: h.name,
                    value: h.value,
                })
                .collect(),
            body: r.body,
        }),
        Err(e) => Err(match e {
            wit_http::HttpError::Denied(reason) => HttpError::Denied(reason),
            wit_http::HttpError::Timeout => HttpError::Timeout,
            wit_http::HttpError::TooLarge(limit) => HttpError::TooLarge(limit),
            wit_http::HttpError::TooManyRequests(limit) => HttpError::TooManyRequests(limit),
            wit_http::HttpError::Transport(reason) => HttpError::Transport(reason),
        }),
    }
}

pub(crate) fn config(key: &str) -> Option<String> {
    wit_config::get(key)
}

pub(crate) fn log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => wit_log::Level::Trace,
        Level::Debug => wit_log::Level::Debug,
        Level::Info => wit_log::Level::Info,
        Level::Warn => wit_log::Level::Warn,
        Level::Error => wit_log::Level::Error,
    };
    wit_log::log(level, message);
}

impl From<Entry> for wit::Entry {
    fn from(e: Entry) -> Self {
        wit::Entry {
            platform: e.platform,
            user_id: e.user_id,
            handle: e.handle,
            display_name: e.display_name,
            text: e.text,
            created_at: e.created_at,
            followers: e.followers,
            account_created_at: e.account_created_at,
        }
    }
}

/// The entries of a filter's batch (layout in the WIT's `entry-batch`),
/// borrowed from its `strings`. A malformed batch (a broken host) is
/// [`PluginError::InvalidInput`] naming the problem, never a panic.
pub fn unpack_batch(batch: &wit::EntryBatch) -> Result<Vec<EntryRef<'_>>, PluginError> {
    const FIELDS: usize = 7;
    const KNOWN_FOLLOWERS: u8 = 1;
    const KNOWN_ACCOUNT_CREATED_AT: u8 = 2;
    let bad = |what: String| PluginError::InvalidInput(format!("malformed entry batch: {what}"));
    let count = batch.known.len();
    if batch.followers.len() != count || batch.ends.len() != count * FIELDS {
        return Err(bad(format!(
            "{} string ends, {} follower counts and {} flags do not describe the same entries",
            batch.ends.len(),
            batch.followers.len(),
            count
        )));
    }
    // Check every offset once, so that slicing below cannot fail.
    let strings = batch.strings.as_str();
    let mut start = 0;
    for (i, &end) in batch.ends.iter().enumerate() {
        let end = end as usize;
        if end < start || !strings.is_char_boundary(end) {
            return Err(bad(format!(
                "string {i} spans bytes {start}..{end} of {}, not a run of whole characters",
                strings.len()
            )));
        }
        start = end;
    }
    let mut start = 0;
    let mut next = |end: &u32| {
        let s = strings.get(start..*end as usize).unwrap_or_default();
        start = *end as usize;
        s
    };
    let mut entries = Vec::with_capacity(count);
    let (ends, _) = batch.ends.as_chunks::<FIELDS>();
    for ((ends, &followers), &known) in ends.iter().zip(&batch.followers).zip(&batch.known) {
        let [
            platform,
            user_id,
            handle,
            display_name,
            text,
            created_at,
            account_created_at,
        ] = ends;
        entries.push(EntryRef {
            platform: next(platform),
            user_id: next(user_id),
            handle: next(handle),
            display_name: next(display_name),
            text: next(text),
            created_at: next(created_at),
            followers: (known & KNOWN_FOLLOWERS != 0).then_some(followers),
            account_created_at: Some(next(account_created_at))
                .filter(|_| known & KNOWN_ACCOUNT_CREATED_AT != 0),
        });
    }
    Ok(entries)
}

impl From<Collection> for wit::Collection {
    fn from(c: Collection) -> Self {
        match c {
            Collection::Comments => wit::Collection::Comments,
            Collection::Replies => wit::Collection::Replies,
            Collection::Likes => wit::Collection::Likes,
            Collection::Reposts => wit::Collection::Reposts,
            Collection::Followers => wit::Collection::Followers,
        }
    }
}

impl From<wit::Collection> for Collection {
    fn from(c: wit::Collection) -> Self {
        match c {
            wit::Collection::Comments => Collection::Comments,
            wit::Collection::Replies => Collection::Replies,
            wit::Collection::Likes => Collection::Likes,
            wit::Collection::Reposts => Collection::Reposts,
            wit::Collection::Followers => Collection::Followers,
        }
    }
}

impl From<PluginError> for wit::PluginError {
    fn from(e: PluginError) -> Self {
        match e {
            PluginError::InvalidInput(m) => wit::PluginError::InvalidInput(m),
            PluginError::Unauthorized(m) => wit::PluginError::Unauthorized(m),
            PluginError::RateLimited(RateLimit {
                retry_after_seconds,
                message,
            }) => wit::PluginError::RateLimited(wit::RateLimit {
                retry_after_seconds,
                message,
            }),
            PluginError::NotFound(m) => wit::PluginError::NotFound(m),
            PluginError::Unavailable(m) => wit::PluginError::Unavailable(m),
            PluginError::BadResponse(m) => wit::PluginError::BadResponse(m),
            PluginError::Http(m) => wit::PluginError::Http(m),
            PluginError::Other(m) => wit::PluginError::Other(m),
        }
    }
}
