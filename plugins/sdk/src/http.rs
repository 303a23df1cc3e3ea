//! Outbound HTTP through the host, with JSON and error helpers.
//!
//! In a component every request goes to the host's `http.send` import, which
//! enforces the manifest's allowlist, attaches credentials and bounds size,
//! time and count. Natively (in tests) requests go to the [`Transport`]
//! installed by [`crate::testing`], so a plugin's logic runs against recorded
//! responses without a server.
//!
//! Build the real production URL: tests of the host map real origins to mock
//! servers themselves.
//!
//! ```
//! use fairdraw_plugin_sdk::http;
//! let url = http::url_with_query(
//!     "https://www.googleapis.com/youtube/v3/comments",
//!     &[("parentId", "Ugx.1"), ("pageToken", "a+b/c=")],
//! );
//! assert_eq!(url, "https://www.googleapis.com/youtube/v3/comments?parentId=Ugx.1&pageToken=a%2Bb/c%3D");
//!
//! let link = r#"<https://m.example/api/v1/statuses/1/favourited_by?limit=80&max_id=7>; rel="next", <https://m.example/x?since_id=9>; rel="prev""#;
//! let next = http::next_link(link).unwrap();
//! assert_eq!(http::query_param(next, "max_id").as_deref(), Some("7"));
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;

use crate::PluginError;

/// A header (WIT `header`). Names are case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

impl Header {
    /// A header `name: value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A request (WIT `request`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD`.
    pub method: String,
    /// Absolute `https://` URL.
    pub url: String,
    /// Request headers; the host adds credentials itself.
    pub headers: Vec<Header>,
    /// Request body, if any.
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A `GET` of `url` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Header::new(name, value));
        self
    }
}

/// A response of any status (WIT `response`): a 4xx or 5xx is a response,
/// not an [`HttpError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<Header>,
    /// Response body (bounded by the host).
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Parses the body as JSON. Fails with [`PluginError::BadResponse`]
    /// naming the parse error when the body is not a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PluginError::BadResponse(format!(
                "the {} response is not the JSON expected: {e}",
                self.status
            ))
        })
    }

    /// The URL of the `Link` header's `rel="next"`, if any (the last page
    /// has none). Several `Link` headers are searched in order.
    pub fn next_link(&self) -> Option<&str> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("link"))
            .find_map(|h| next_link(&h.value))
    }

    /// Seconds until a rate limit resets, from the headers (see
    /// [`retry_after_seconds`]).
    pub fn retry_after_seconds(&self) -> Option<u64> {
        retry_after_seconds(&self.headers)
    }
}

/// Why the host did not return a response (WIT `http-error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not allowed for this plugin; the reason says which rule.
    Denied(String),
    /// The request took longer than the host allows.
    Timeout,
    /// The response body exceeded the host's limit (bytes).
    TooLarge(u64),
    /// The plugin made more requests in this call than allowed.
    TooManyRequests(u32),
    /// DNS, TLS or connection failure.
    Transport(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(reason) => write!(f, "denied: {reason}"),
            HttpError::Timeout => f.write_str("timeout"),
            HttpError::TooLarge(limit) => {
                write!(f, "too large: the response exceeds {limit} bytes")
            }
            HttpError::TooManyRequests(limit) => {
                write!(f, "too many requests: more than {limit} in one call")
            }
            HttpError::Transport(reason) => write!(f, "transport: {reason}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Where requests go: the host in a component, a recording in tests.
///
/// [`crate::testing::Recorded`] is the usual test transport; implement this
/// trait for anything more dynamic and install it with
/// [`crate::testing::install_transport`].
pub trait Transport {
    /// Sends one request and returns the response of whatever status, or
    /// why there is none.
    fn send(&self, request: &Request) -> Result<Response, HttpError>;
}

/// Sends one request through the host (or, natively, the installed
/// transport) and returns the response or the host's refusal verbatim.
pub fn send(request: &Request) -> Result<Response, HttpError> {
    crate::host::send(request)
}

/// `GET url` with `headers`. Returns the response whatever its status;
/// fails with [`PluginError::Http`] (the host's words) when there is none.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, PluginError> {
    let mut request = Request::get(url);
    request.headers = headers.iter().map(|(n, v)| Header::new(*n, *v)).collect();
    Ok(send(&request)?)
}

/// `GET url` with `headers` and parses a 2xx JSON body as `T`; returns the
/// value and the response (for headers such as `Link`).
///
/// Fails with [`status_error`]'s mapping for a non-2xx status,
/// [`PluginError::BadResponse`] when the body is not a `T`, and
/// [`PluginError::Http`] when the host returned no response.
pub fn get_json<T: DeserializeOwned>(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(T, Response), PluginError> {
    let response = get(url, headers)?;
    if !response.is_success() {
        return Err(status_error(&response));
    }
    let value = response.json()?;
    Ok((value, response))
}

/// The [`PluginError`] for a response whose status is an error, for a
/// platform that says nothing more specific:
///
/// | status | error |
/// |---|---|
/// | 401 | `unauthorized` |
/// | 403 that looks like a quota or rate limit (body says "quota" or "rate limit", a `*-remaining: 0` or `Retry-After` header) | `rate-limited` |
/// | other 403 | `unauthorized` |
/// | 429 | `rate-limited`, with [`retry_after_seconds`] |
/// | 404, 410 | `not-found` |
/// | 400, 422 | `invalid-input` |
/// | 408, 5xx | `unavailable` |
/// | anything else | `bad-response` |
///
/// The message is `HTTP <status>: <the platform's message>`, the message
/// taken from the usual JSON error shapes (see [`error_message`]).
pub fn status_error(response: &Response) -> PluginError {
    let message = format!(
        "HTTP {}: {}",
        response.status,
        error_message(&response.body)
    );
    match response.status {
        401 => PluginError::Unauthorized(message),
        403 if looks_rate_limited(response) => {
            PluginError::rate_limited(response.retry_after_seconds(), message)
        }
        403 => PluginError::Unauthorized(message),
        429 => PluginError::rate_limited(response.retry_after_seconds(), message),
        404 | 410 => PluginError::NotFound(message),
        400 | 422 => PluginError::InvalidInput(message),
        408 | 500..=599 => PluginError::Unavailable(message),
        _ => PluginError::BadResponse(message),
    }
}

fn looks_rate_limited(response: &Response) -> bool {
    let remaining_zero = [
        "x-ratelimit-remaining",
        "x-rate-limit-remaining",
        "ratelimit-remaining",
    ]
    .iter()
    .any(|n| response.header(n).is_some_and(|v| v.trim() == "0"));
    if remaining_zero || response.header("retry-after").is_some() {
        return true;
    }
    let head = &response.body[..response.body.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    [
        "quota",
        "rate limit",
        "ratelimit",
        "rate_limit",
        "too many requests",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The platform's own error message from a response body: the first of
/// `error.message`, `error` (a string, then `message` or `error_description`),
/// `message`, `detail`, `title`, `errors[0].message` in a JSON body, or else
/// the body as text. Shortened to 300 characters, whitespace collapsed.
pub fn error_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
            if let Some(m) = v.pointer("/error/message").and_then(&s) {
                return Some(m);
            }
            if let Some(e) = v.get("error").and_then(&s) {
                let detail = v.get("message").or_else(|| v.get("error_description"));
                return Some(match detail.and_then(&s) {
                    Some(d) => format!("{e}: {d}"),
                    None => e,
                });
            }
            ["/message", "/detail", "/title", "/errors/0/message"]
                .iter()
                .find_map(|p| v.pointer(p).and_then(&s))
        });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(empty body)".into();
    }
    match collapsed.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

/// The value of the first header called `name` (case-insensitive).
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The URL with `rel="next"` in one `Link` header value (RFC 8288), e.g.
/// `<https://…?max_id=7>; rel="next", <https://…>; rel="prev"`. The relation
/// may be quoted or not, one of several (`rel="next last"`), any case.
pub fn next_link(link: &str) -> Option<&str> {
    let mut rest = link;
    loop {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        rest = &rest[end + 1..];
        // The parameters run to the next ',' outside quotes.
        let mut in_quotes = false;
        let params_end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quotes = !in_quotes;
                }
                c == ',' && !in_quotes
            })
            .map_or(rest.len(), |(i, _)| i);
        let is_next = rest[..params_end].split(';').any(|param| {
            let Some((key, value)) = param.split_once('=') else {
                return false;
            };
            key.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target);
        }
        rest = &rest[params_end..];
    }
}

/// Seconds until a rate limit resets, from the first of these headers that
/// gives one:
///
/// - `Retry-After`: delta seconds, or an HTTP date;
/// - `x-rate-limit-reset` (X: epoch seconds), `X-RateLimit-Reset` (Mastodon:
///   ISO 8601; elsewhere epoch seconds), `RateLimit-Reset` (Bluesky: epoch
///   seconds; the IETF draft: delta seconds). A number of at least 10⁹ is
///   taken as epoch seconds, a smaller one as delta seconds;
/// - `X-Business-Use-Case-Usage` (Meta: Instagram and Facebook Graph), the
///   largest `estimated_time_to_regain_access` (minutes) of any entry.
///
/// An absolute time is measured from the response's `Date` header (a plugin
/// has no clock): without `Date` it gives `None`. A time already past gives
/// 0; a fraction of a second rounds up.
pub fn retry_after_seconds(headers: &[Header]) -> Option<u64> {
    let now = header(headers, "date").and_then(crate::time::parse_http_date);
    let until = |epoch: i64, nanos: u32| -> Option<u64> {
        let now = now?;
        let wait = epoch - now + i64::from(nanos > 0);
        Some(u64::try_from(wait).unwrap_or(0))
    };
    if let Some(value) = header(headers, "retry-after").map(str::trim) {
        if let Ok(delta) = value.parse::<u64>() {
            return Some(delta);
        }
        if let Some(at) = crate::time::parse_http_date(value) {
            return until(at, 0);
        }
    }
    for name in ["x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"] {
        let Some(value) = header(headers, name).map(str::trim) else {
            continue;
        };
        if let Ok(n) = value.parse::<u64>() {
            if n < 1_000_000_000 {
                return Some(n);
            }
            return until(i64::try_from(n).ok()?, 0);
        }
        if let Some((epoch, nanos)) = crate::time::parse_rfc3339(value) {
            return until(epoch, nanos);
        }
    }
    header(headers, "x-business-use-case-usage").and_then(meta_regain_seconds)
}

/// Meta's `X-Business-Use-Case-Usage`:
/// `{"<id>": [{"type": "...", "call_count": n, ..., "estimated_time_to_regain_access": minutes}]}`.
fn meta_regain_seconds(value: &str) -> Option<u64> {
    let usage: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        serde_json::from_str(value).ok()?;
    usage
        .values()
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access")?.as_u64())
        .max()
        .filter(|&minutes| minutes > 0)
        .map(|minutes| minutes * 60)
}

/// Percent-encodes `s` for a URL query value: everything but the RFC 3986
/// unreserved characters and `,:@/` is encoded, so `+`, `&`, `=`, `#`, `%`
/// and spaces are safe to pass.
pub fn encode(s: &str) -> Cow<'_, str> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-._~,:@/".contains(&b);
    if s.bytes().all(keep) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// Decodes `%XX` escapes (and leaves `+` alone). Invalid escapes and invalid
/// UTF-8 are kept as they are.
pub fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(_) => Cow::Borrowed(s),
    }
}

/// `base` with `params` appended as a query, each value [`encode`]d
/// (`&`-joined after an existing query).
pub fn url_with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = String::from(base);
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        url.push(sep);
        url.push_str(name);
        url.push('=');
        url.push_str(&encode(value));
        sep = '&';
    }
    url
}

/// The decoded value of the first query parameter called `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v).into_owned())
    })
}

/// The parts of an absolute URL that matter to the host's allowlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin<'a> {
    /// `https` or `http`, lowercase.
    pub scheme: String,
    /// The host, lowercase (an IPv6 literal keeps its brackets).
    pub host: String,
    /// The port, when written.
    pub port: Option<u16>,
    /// Everything from the first `/`, `?` or `#` after the authority
    /// (empty when there is none).
    pub rest: &'a str,
}

impl Origin<'_> {
    /// `scheme://host[:port]`, with the scheme's default port left out: the
    /// form of the manifest's `[http] allow` entries.
    pub fn origin(&self) -> String {
        let default = match self.scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        };
        match self.port {
            Some(port) if Some(port) != default => {
                format!("{}://{}:{port}", self.scheme, self.host)
            }
            _ => format!("{}://{}", self.scheme, self.host),
        }
    }
}

/// Splits an absolute `http(s)://` URL into its [`Origin`]. Returns `None`
/// for a relative URL, another scheme, user info (`user@host`), an empty
/// host or a bad port.
pub fn parse_origin(url: &str) -> Option<Origin<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (
            &authority[..i],
            Some(authority[i + 1..].parse::<u16>().ok()?),
        ),
        _ => (authority, None),
    };
    if host.is_empty() {
        return None;
    }
    Some(Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers.iter().map(|(n, v)| Header::new(*n, *v)).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn links() {
        let doc = "<https://mastodon.example/api/v1/statuses/109404970108594430/reblogged_by?limit=2&max_id=109406336446186031>; rel=\"next\", <https://mastodon.example/api/v1/statuses/109404970108594430/reblogged_by?limit=2&since_id=109408462939099398>; rel=\"prev\"";
        let next = next_link(doc).expect("next");
        assert!(next.ends_with("max_id=109406336446186031"));
        assert_eq!(next_link("<https://a/x?since_id=1>; rel=\"prev\""), None);
        assert_eq!(
            next_link("<https://a/p,1>; title=\"a, b\"; rel=next"),
            Some("https://a/p,1")
        );
        assert_eq!(
            next_link("<https://a/1>; rel=\"prev\", <https://a/2>; REL=\"next last\""),
            Some("https://a/2")
        );
        assert_eq!(next_link(""), None);
        let r = response(
            200,
            &[
                ("Link", "<https://a/1>; rel=\"prev\""),
                ("link", "<https://a/2>; rel=next"),
            ],
            "",
        );
        assert_eq!(r.next_link(), Some("https://a/2"));
    }

    #[test]
    fn retry_after_forms() {
        let date = ("Date", "Sat, 01 Jun 2024 12:00:00 GMT");
        let h = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(n, v)| Header::new(*n, *v))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            retry_after_seconds(&h(&[(
                "X-Business-Use-Case-Usage",
                r#"{"17841400008460056":[{"type":"instagram","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":19}]}"#
            )])),
            Some(19 * 60)
        );
        assert_eq!(
            retry_after_seconds(&h(&[("Retry-After", "120")])),
            Some(120)
        );
        assert_eq!(
            retry_after_seconds(&h(&[
                date,
                ("Retry-After", "Sat, 01 Jun 2024 12:01:30 GMT")
            ])),
            Some(90)
        );
        // Mastodon: ISO 8601 with microseconds.
        assert_eq!(
            retry_after_seconds(&h(&[
                date,
                ("X-RateLimit-Reset", "2024-06-01T12:05:00.000000Z")
            ])),
            Some(300)
        );
        assert_eq!(
            retry_after_seconds(&h(&[date, ("X-RateLimit-Reset", "2024-06-01T12:05:00.5Z")])),
            Some(301)
        );
        // X: epoch seconds.
        assert_eq!(
            retry_after_seconds(&h(&[date, ("x-rate-limit-reset", "1717243260")])),
            Some(60)
        );
        // Bluesky epoch / draft delta.
        assert_eq!(
            retry_after_seconds(&h(&[date, ("RateLimit-Reset", "1717243230")])),
            Some(30)
        );
        assert_eq!(
            retry_after_seconds(&h(&[("RateLimit-Reset", "42")])),
            Some(42)
        );
        // Past resets are 0; absolute times need a Date.
        assert_eq!(
            retry_after_seconds(&h(&[date, ("X-RateLimit-Reset", "2024-06-01T11:00:00Z")])),
            Some(0)
        );
        assert_eq!(
            retry_after_seconds(&h(&[("X-RateLimit-Reset", "2024-06-01T12:05:00Z")])),
            None
        );
        assert_eq!(retry_after_seconds(&h(&[date])), None);
    }

    #[test]
    fn statuses_map_to_errors() {
        let e = status_error(&response(
            401,
            &[],
            r#"{"error":"The access token is invalid"}"#,
        ));
        assert_eq!(
            e,
            PluginError::Unauthorized("HTTP 401: The access token is invalid".into())
        );
        let e = status_error(&response(
            429,
            &[
                ("Date", "Sat, 01 Jun 2024 12:00:00 GMT"),
                ("X-RateLimit-Reset", "2024-06-01T12:05:00.000000Z"),
            ],
            r#"{"error":"Too many requests"}"#,
        ));
        assert_eq!(
            e,
            PluginError::rate_limited(Some(300), "HTTP 429: Too many requests")
        );
        let quota =
            r#"{"error":{"code":403,"message":"You have exceeded your quota.","errors":[]}}"#;
        assert_eq!(
            status_error(&response(403, &[], quota)).kind(),
            "rate-limited"
        );
        assert_eq!(
            status_error(&response(403, &[("x-rate-limit-remaining", "0")], "")).kind(),
            "rate-limited"
        );
        assert_eq!(
            status_error(&response(403, &[], r#"{"error":"Forbidden"}"#)).kind(),
            "unauthorized"
        );
        assert_eq!(
            status_error(&response(404, &[], r#"{"error":"Record not found"}"#)).kind(),
            "not-found"
        );
        assert_eq!(
            status_error(&response(422, &[], "")).kind(),
            "invalid-input"
        );
        assert_eq!(
            status_error(&response(503, &[], "Remote data could not be fetched")).kind(),
            "unavailable"
        );
        assert_eq!(status_error(&response(302, &[], "")).kind(), "bad-response");
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(
            error_message(b"Requested future beacon\n"),
            "Requested future beacon"
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_grant","error_description":"expired"}"#),
            "invalid_grant: expired"
        );
        assert_eq!(
            error_message(br#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#),
            "RateLimitExceeded: Rate Limit Exceeded"
        );
        assert_eq!(error_message(br#"{"title":"Unauthorized","detail":"Unauthorized","type":"about:blank","status":401}"#), "Unauthorized");
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("snippet,replies"), "snippet,replies");
        assert_eq!(encode("a b&c=d+e%"), "a%20b%26c%3Dd%2Be%25");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(decode("a%20b%2Bc+%C3%A9%zz%4"), "a b+c+é%zz%4");
        assert_eq!(
            query_param("https://a/b?x=1&max_id=42#f", "max_id").as_deref(),
            Some("42")
        );
        assert_eq!(query_param("https://a/b?x=1", "max_id"), None);
        assert_eq!(
            url_with_query("https://a/b?x=1", &[("y", "2")]),
            "https://a/b?x=1&y=2"
        );
    }

    #[test]
    fn origins() {
        let o = parse_origin("HTTPS://Mastodon.Social:443/@user/1?x").expect("origin");
        assert_eq!(
            (o.origin(), o.rest),
            ("https://mastodon.social".to_owned(), "/@user/1?x")
        );
        assert_eq!(
            parse_origin("https://h.example:8443")
                .map(|o| o.origin())
                .as_deref(),
            Some("https://h.example:8443")
        );
        assert_eq!(
            parse_origin("https://[::1]:8443/").map(|o| o.host),
            Some("[::1]".to_owned())
        );
        assert_eq!(parse_origin("https://[::1]/").map(|o| o.port), Some(None));
        assert!(parse_origin("https://user@h.example/").is_none());
        assert!(parse_origin("ftp://h.example/").is_none());
        assert!(parse_origin("/relative").is_none());
        assert!(parse_origin("https://h.example:99999/").is_none());
    }
}
