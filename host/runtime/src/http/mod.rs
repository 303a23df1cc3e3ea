//! The `http` import: the only network access a plugin has.
//!
//! Every request passes [`HttpPolicy::check_url`] (an `https://` URL whose
//! `host[:port]` the manifest allows exactly; no IP literal, no user info),
//! then the host resolves the name itself and connects only if *every*
//! address is public ([`address_class`]): a name pointing at `127.0.0.1`,
//! `10.0.0.0/8` or `169.254.169.254` is refused, and the connection goes to
//! the address that was checked (the resolver is inside the client, so
//! there is no second lookup to rebind). Redirects are not followed by the
//! client: the host follows same-origin ones itself, re-checking each hop,
//! and refuses the others. Credentials are added here, after the plugin's own
//! headers with the same name were dropped, only for the origin each is
//! declared for; every response header, body and error text is scrubbed of
//! them (and of their common encodings) before the plugin sees it, and the
//! host asks for uncompressed bodies so that the scrubbing sees the bytes.
//! Each plugin has its own client, so no connection is shared between
//! plugins; a dev-map target is reached through a separate agent, the only
//! one allowed to connect to loopback.
//!
//! The client is `ureq` 3 rather than `reqwest::blocking`: plugin calls are
//! synchronous wasmtime host calls, and ureq is synchronous end to end (no
//! hidden tokio runtime, no panic when a caller happens to be inside one),
//! uses rustls, and lets us plug in the resolver that checks addresses. Its
//! resolver trait lives in `ureq::unversioned`, so the workspace pins ureq
//! to one minor version.
//!
//! The host's own requests (webhook deliveries of `fairdraw serve`) go
//! through [`OutboundClient`]: the same resolver and address rule, no
//! redirects, bounded time and size, so there is one outbound policy.
//!
//! Two modules: `policy` decides (the allow list, address classes, the dev
//! origin map, redirects, credentials) and `client` sends (ureq, the
//! checking resolver, the per-call count, time and size bounds).

use std::fmt;

mod client;
mod policy;

pub(crate) use client::{CallBudget, HttpClient};
pub use client::{OutboundClient, OutboundOptions, check_outbound_url};
pub(crate) use policy::{Credential, HttpPolicy};
pub use policy::{DevOriginMap, Origin, address_class};

/// Why the host did not return a response (mirrors WIT `http-error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The request is not allowed; the text says which rule.
    Denied(String),
    /// The call's time ran out.
    Timeout,
    /// The response body exceeded this many bytes.
    TooLarge(u64),
    /// The call already made this many requests.
    TooManyRequests(u32),
    /// DNS, TLS or connection failure.
    Transport(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(r) => write!(f, "request denied: {r}"),
            HttpError::Timeout => f.write_str("request timed out"),
            HttpError::TooLarge(n) => write!(f, "response larger than {n} bytes"),
            HttpError::TooManyRequests(n) => write!(f, "more than {n} requests in one call"),
            HttpError::Transport(m) => write!(f, "transport error: {m}"),
        }
    }
}

/// A request from a plugin.
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<Vec<u8>>,
}

/// A response to a plugin.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (values decoded lossily).
    pub headers: Vec<(String, String)>,
    /// Body, bounded.
    pub body: Vec<u8>,
}
