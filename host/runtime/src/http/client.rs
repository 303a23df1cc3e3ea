//! The HTTP client: ureq with the address-checking resolver, no proxy and
//! no redirects of its own, and the bounds of a call (request count,
//! deadline, response size). What may be requested is decided by
//! [`super::policy`].

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use url::Url;

use super::policy::{DevOriginMap, HttpPolicy, address_class};
use super::{HttpError, HttpRequest, HttpResponse};
use crate::limits::MAX_REDIRECTS;

/// The per-call HTTP budget.
#[derive(Debug)]
pub(crate) struct CallBudget {
    pub(crate) requests: u32,
    pub(crate) max_requests: u32,
    pub(crate) deadline: Instant,
    pub(crate) max_response_bytes: u64,
}

/// Headers a plugin may not set: the host and the HTTP stack own them.
const HOST_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// A denied address, carried through ureq's resolver error.
#[derive(Debug)]
struct AddressDenied(String);

impl fmt::Display for AddressDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AddressDenied {}

/// Which addresses a resolver lets a client connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddressRule {
    /// Public unicast only ([`address_class`] is `None`).
    Public,
    /// Loopback only: the dev agent, which only sees dev-map targets.
    Loopback,
    /// Anything: the host's outbound client with private destinations
    /// explicitly allowed (a development setting).
    Any,
}

/// The resolver inside the client: resolves, then refuses the name unless
/// every address passes the client's [`AddressRule`] (public addresses;
/// the dev agent instead requires loopback: it only ever sees the targets
/// of the dev origin map).
#[derive(Debug)]
struct CheckedResolver {
    inner: DefaultResolver,
    rule: AddressRule,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default().to_owned();
        for a in addrs.iter() {
            let ip = a.ip();
            let denied = match self.rule {
                AddressRule::Public => address_class(ip),
                AddressRule::Loopback => (!ip.is_loopback()).then_some("non-loopback dev target"),
                AddressRule::Any => None,
            };
            if let Some(class) = denied {
                return Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    AddressDenied(format!("{host} resolves to a {class} address ({ip})")),
                )));
            }
        }
        Ok(addrs)
    }
}

/// The HTTP client of one plugin: each loaded plugin has its own, so no
/// connection (and nothing a server left unread on it) is shared between
/// plugins. Requests whose origin the dev origin map reroutes go through a
/// second agent, the only one whose resolver accepts loopback.
#[derive(Debug)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    dev_agent: ureq::Agent,
    dev: DevOriginMap,
}

impl HttpClient {
    pub(crate) fn new(dev: DevOriginMap) -> HttpClient {
        let agent = |dev: bool| {
            let config = ureq::Agent::config_builder()
                .proxy(None)
                .max_redirects(0)
                .http_status_as_error(false)
                .user_agent("fairdraw-plugin-host/0.1")
                .max_response_header_size(64 << 10)
                .build();
            let resolver = CheckedResolver {
                inner: DefaultResolver::default(),
                rule: if dev {
                    AddressRule::Loopback
                } else {
                    AddressRule::Public
                },
            };
            ureq::Agent::with_parts(config, DefaultConnector::new(), resolver)
        };
        HttpClient {
            agent: agent(false),
            dev_agent: agent(true),
            dev,
        }
    }

    pub(crate) fn dev_map(&self) -> &DevOriginMap {
        &self.dev
    }

    /// Sends one request for a plugin, following same-origin redirects.
    /// What comes back, response or error, has every credential value
    /// redacted ([`HttpPolicy::redact`]): a server that reflects the
    /// request cannot hand the plugin its credentials.
    pub(crate) fn send(
        &self,
        policy: &HttpPolicy,
        budget: &mut CallBudget,
        req: HttpRequest,
    ) -> Result<HttpResponse, HttpError> {
        self.send_unredacted(policy, budget, req)
            .map(|r| policy.redact_response(r))
            .map_err(|e| policy.redact_error(e))
    }

    fn send_unredacted(
        &self,
        policy: &HttpPolicy,
        budget: &mut CallBudget,
        req: HttpRequest,
    ) -> Result<HttpResponse, HttpError> {
        let mut method = req.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(HttpError::Denied(format!(
                "method {:?} is not allowed",
                req.method
            )));
        }
        if req.headers.len() > 100 {
            return Err(HttpError::Denied("more than 100 headers".to_owned()));
        }
        for (name, value) in &req.headers {
            let lower = name.to_ascii_lowercase();
            if HOST_HEADERS.contains(&lower.as_str()) {
                return Err(HttpError::Denied(format!(
                    "header {name:?} is set by the host"
                )));
            }
            if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || ureq::http::HeaderValue::from_str(value).is_err()
            {
                return Err(HttpError::Denied(format!(
                    "header {name:?} is not a valid HTTP header"
                )));
            }
        }
        let (mut url, mut origin) = policy.check_url(&req.url).map_err(HttpError::Denied)?;
        let mut body = req.body;
        let mut redirects = 0;
        loop {
            if budget.requests >= budget.max_requests {
                return Err(HttpError::TooManyRequests(budget.max_requests));
            }
            let remaining = budget.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(HttpError::Timeout);
            }
            budget.requests += 1;

            let mut wire_url = url.clone();
            let mut headers = req.headers.clone();
            // Only identity bodies can be scrubbed of credentials: the host
            // owns `accept-encoding`.
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("accept-encoding"));
            headers.push(("accept-encoding".to_owned(), "identity".to_owned()));
            policy.attach_credentials(&origin, &mut wire_url, &mut headers);
            let agent = if self.dev.reroute(&origin, &mut wire_url) {
                &self.dev_agent
            } else {
                &self.agent
            };
            let response = self
                .run(
                    agent,
                    &method,
                    &wire_url,
                    &headers,
                    body.as_deref(),
                    remaining,
                )
                .map_err(|e| map_error(e, budget.max_response_bytes, policy))?;
            let RawResponse {
                status,
                headers: resp_headers,
                body: mut resp_body,
            } = response;

            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = resp_headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("location"));
                if let Some((_, location)) = location {
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        return Err(HttpError::Denied(format!(
                            "more than {MAX_REDIRECTS} redirects"
                        )));
                    }
                    let (next, next_origin) =
                        policy.check_redirect(&self.dev, &origin, &wire_url, location)?;
                    if status == 303
                        || (matches!(status, 301 | 302) && method != "GET" && method != "HEAD")
                    {
                        method = "GET".to_owned();
                        body = None;
                    }
                    url = next;
                    origin = next_origin;
                    continue;
                }
            }
            let encoding = resp_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("identity"));
            if let Some(encoding) = encoding
                && policy.attaches_credentials(&origin)
            {
                return Err(HttpError::Transport(format!(
                    "the response is compressed (content-encoding: {encoding}) although identity was asked for; a response to a request carrying a credential must be readable by the host"
                )));
            }
            let limit = budget.max_response_bytes;
            let bytes = resp_body
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(|e| map_error(e, limit, policy))?;
            return Ok(HttpResponse {
                status,
                headers: resp_headers,
                body: bytes,
            });
        }
    }

    fn run(
        &self,
        agent: &ureq::Agent,
        method: &str,
        url: &Url,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<RawResponse, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str());
        for (n, v) in headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        let response = match body {
            Some(b) => {
                let req = builder.body(b)?;
                let req = agent
                    .configure_request(req)
                    .timeout_global(Some(timeout))
                    .build();
                agent.run(req)?
            }
            None => {
                let req = builder.body(())?;
                let req = agent
                    .configure_request(req)
                    .timeout_global(Some(timeout))
                    .build();
                agent.run(req)?
            }
        };
        let (parts, body) = response.into_parts();
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(RawResponse {
            status: parts.status.as_u16(),
            headers,
            body,
        })
    }
}

/// A response whose body is not read yet.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: ureq::Body,
}

fn map_error(e: ureq::Error, max_bytes: u64, policy: &HttpPolicy) -> HttpError {
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge(max_bytes),
        ureq::Error::Io(io) => {
            if let Some(denied) = io.get_ref().and_then(|e| e.downcast_ref::<AddressDenied>()) {
                return HttpError::Denied(denied.0.clone());
            }
            if io.kind() == io::ErrorKind::TimedOut {
                return HttpError::Timeout;
            }
            HttpError::Transport(policy.redact(&io.to_string()))
        }
        ureq::Error::HostNotFound => {
            HttpError::Transport("cannot resolve the host name".to_owned())
        }
        other => HttpError::Transport(policy.redact(&other.to_string())),
    }
}

/// How an [`OutboundClient`] sends.
#[derive(Clone, Debug)]
pub struct OutboundOptions {
    /// Also connect to private, loopback and link-local addresses (and IP
    /// literals of them). A development setting: off in production.
    pub allow_private: bool,
    /// The whole request, connection to last body byte.
    pub timeout: Duration,
    /// Longest response body read; more is an error.
    pub max_response_bytes: u64,
    /// The `user-agent` header.
    pub user_agent: String,
}

/// The host's own outbound HTTP client (webhook deliveries), under the
/// plugins' address rule: a name is resolved by the client itself and the
/// request is refused unless *every* address is public ([`address_class`]),
/// and the connection goes to the address that was checked, so DNS
/// rebinding cannot slip in between. No proxy, no redirect followed (a 3xx
/// is returned as it is, so it can never lead to another host), bounded
/// time and response size.
///
/// Blocking, like the plugins' client: call it from a blocking thread.
#[derive(Debug)]
pub struct OutboundClient {
    agent: ureq::Agent,
    options: OutboundOptions,
}

impl OutboundClient {
    /// A client with these options.
    pub fn new(options: OutboundOptions) -> OutboundClient {
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(options.user_agent.as_str())
            .max_response_header_size(64 << 10)
            .build();
        let resolver = CheckedResolver {
            inner: DefaultResolver::default(),
            rule: if options.allow_private {
                AddressRule::Any
            } else {
                AddressRule::Public
            },
        };
        OutboundClient {
            agent: ureq::Agent::with_parts(config, DefaultConnector::new(), resolver),
            options,
        }
    }

    /// Checks a destination URL: `http://` or `https://`, a host, no user
    /// info, and (unless private destinations are allowed) no IP literal
    /// that is not public. Names are checked again after resolution, at
    /// every send.
    ///
    /// Returns the parsed URL, or why it is refused.
    pub fn check_url(&self, raw: &str) -> Result<Url, String> {
        check_outbound_url(raw, self.options.allow_private)
    }

    /// Sends one request and reads the response (bounded).
    ///
    /// Fails with [`HttpError::Denied`] for a refused URL or a name that
    /// resolves to a refused address, [`HttpError::Timeout`],
    /// [`HttpError::TooLarge`] or [`HttpError::Transport`].
    pub fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = self.check_url(&req.url).map_err(HttpError::Denied)?;
        let method = req.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(HttpError::Denied(format!(
                "method {:?} is not allowed",
                req.method
            )));
        }
        let mut builder = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str());
        for (n, v) in &req.headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        let timeout = Some(self.options.timeout);
        let limit = self.options.max_response_bytes;
        let response = match &req.body {
            Some(b) => builder
                .body(b.as_slice())
                .map_err(|e| HttpError::Denied(e.to_string()))
                .and_then(|r| {
                    let r = self
                        .agent
                        .configure_request(r)
                        .timeout_global(timeout)
                        .build();
                    self.agent.run(r).map_err(|e| outbound_error(e, limit))
                }),
            None => builder
                .body(())
                .map_err(|e| HttpError::Denied(e.to_string()))
                .and_then(|r| {
                    let r = self
                        .agent
                        .configure_request(r)
                        .timeout_global(timeout)
                        .build();
                    self.agent.run(r).map_err(|e| outbound_error(e, limit))
                }),
        }?;
        let (parts, mut body) = response.into_parts();
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = body
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| outbound_error(e, limit))?;
        Ok(HttpResponse {
            status: parts.status.as_u16(),
            headers,
            body: bytes,
        })
    }
}

/// [`OutboundClient::check_url`] without a client.
pub fn check_outbound_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http:// and https:// URLs, not {}://",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL may not carry user info".to_owned());
    }
    let ip = match url.host() {
        None => return Err("the URL has no host".to_owned()),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
    };
    if !allow_private
        && let Some(ip) = ip
        && let Some(class) = address_class(ip)
    {
        return Err(format!("{ip} is a {class} address"));
    }
    Ok(url)
}

fn outbound_error(e: ureq::Error, max_bytes: u64) -> HttpError {
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge(max_bytes),
        ureq::Error::Io(io) => {
            if let Some(denied) = io.get_ref().and_then(|e| e.downcast_ref::<AddressDenied>()) {
                return HttpError::Denied(denied.0.clone());
            }
            if io.kind() == io::ErrorKind::TimedOut {
                return HttpError::Timeout;
            }
            HttpError::Transport(io.to_string())
        }
        ureq::Error::HostNotFound => {
            HttpError::Transport("cannot resolve the host name".to_owned())
        }
        other => HttpError::Transport(other.to_string()),
    }
}

#[cfg(test)]
mod outbound_tests {
    use super::*;

    #[test]
    fn outbound_urls_are_http_without_user_info_or_private_literals() {
        assert!(check_outbound_url("https://hooks.example.com/x?y=1", false).is_ok());
        assert!(check_outbound_url("http://hooks.example.com:8080/", false).is_ok());
        let deny = |u: &str| check_outbound_url(u, false).expect_err(u);
        assert!(deny("ftp://example.com/").contains("only http:// and https://"));
        assert!(deny("https://u:p@example.com/").contains("user info"));
        assert!(deny("http://127.0.0.1:9/").contains("loopback"));
        assert!(deny("http://10.1.2.3/").contains("private"));
        assert!(deny("http://169.254.169.254/latest").contains("link-local"));
        assert!(deny("http://[::1]/").contains("loopback"));
        assert!(deny("http://[::ffff:192.168.0.1]/").contains("private"));
        assert!(deny("not a url").contains("not a URL"));
        // A name passes here: it is checked after resolution.
        assert!(check_outbound_url("http://localhost:9/", false).is_ok());
        assert!(check_outbound_url("http://127.0.0.1:9/", true).is_ok());
    }

    #[test]
    fn a_name_resolving_to_loopback_is_refused_before_connecting() {
        let client = OutboundClient::new(OutboundOptions {
            allow_private: false,
            timeout: Duration::from_secs(5),
            max_response_bytes: 1024,
            user_agent: "test".into(),
        });
        let err = client
            .send(&HttpRequest {
                method: "POST".into(),
                url: "http://localhost:9/hook".into(),
                headers: vec![],
                body: Some(b"{}".to_vec()),
            })
            .expect_err("refused");
        match err {
            HttpError::Denied(why) => {
                assert!(why.contains("resolves to a loopback address"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
