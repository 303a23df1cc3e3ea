//! What a plugin may reach: the manifest's origin allow list, the address
//! classes a name may not resolve to, the dev origin map, the redirect rule
//! and the credentials the host attaches. Pure decisions; the client
//! ([`super::client`]) applies them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use super::HttpError;
use crate::manifest::{CredentialSpec, Placement};

/// An allowed origin: `https://host[:port]` with a DNS name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `https://host[:port]` (a trailing `/` is tolerated). Refuses
    /// other schemes, IP-address hosts, user info, paths, queries and fragments.
    pub fn parse(s: &str) -> Result<Origin, String> {
        let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL ({e})"))?;
        if url.scheme() != "https" {
            return Err(format!("{s:?}: only https:// origins are allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{s:?}: an origin must not contain user info"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{s:?}: an origin is scheme://host[:port], without a path"
            ));
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
                return Err(format!(
                    "{s:?}: IP address hosts are not allowed; use a DNS name"
                ));
            }
            None => return Err(format!("{s:?} has no host")),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        Ok(Origin { host, port })
    }

    /// The host name, lowercase.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (443 when not written).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == 443 {
            write!(f, "https://{}", self.host)
        } else {
            write!(f, "https://{}:{}", self.host, self.port)
        }
    }
}

/// Where a dev origin map sends a production origin: a loopback origin.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DevTarget {
    scheme: String,
    /// As it appears in a URL (`127.0.0.1`, `[::1]`, `localhost`).
    host: String,
    port: u16,
}

impl fmt::Display for DevTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// `FAIRDRAW_DEV_ORIGIN_MAP`: for tests against mock servers, maps allowed
/// production origins to loopback `http://` origins. The plugin still builds
/// production URLs and the allow list still applies to them; only the
/// connection goes elsewhere. Targets must be loopback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevOriginMap {
    entries: Vec<(Origin, DevTarget)>,
}

impl DevOriginMap {
    /// The environment variable read by [`DevOriginMap::from_env`].
    pub const ENV: &'static str = "FAIRDRAW_DEV_ORIGIN_MAP";

    /// Parses `https://prod.example=http://127.0.0.1:PORT,…`.
    pub fn parse(s: &str) -> Result<DevOriginMap, String> {
        let mut entries = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (from, to) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not `https://origin=http://127.0.0.1:port`"))?;
            let from = Origin::parse(from.trim())?;
            let to_url = Url::parse(to.trim()).map_err(|e| format!("{to:?} is not a URL ({e})"))?;
            let scheme = to_url.scheme().to_owned();
            if scheme != "http" && scheme != "https" {
                return Err(format!("{to:?}: the target must be http:// or https://"));
            }
            let host = match to_url.host() {
                Some(Host::Ipv4(ip)) if ip.is_loopback() => ip.to_string(),
                Some(Host::Ipv6(ip)) if ip.is_loopback() => format!("[{ip}]"),
                Some(Host::Domain("localhost")) => "localhost".to_owned(),
                _ => {
                    return Err(format!(
                        "{to:?}: the target must be a loopback address (127.0.0.1, [::1], localhost)"
                    ));
                }
            };
            if to_url.path() != "/" || to_url.query().is_some() || !to_url.username().is_empty() {
                return Err(format!(
                    "{to:?}: the target is scheme://host:port, without a path"
                ));
            }
            let port = to_url.port_or_known_default().unwrap_or(80);
            entries.push((from, DevTarget { scheme, host, port }));
        }
        Ok(DevOriginMap { entries })
    }

    /// Reads [`DevOriginMap::ENV`]; empty when unset.
    pub fn from_env() -> Result<DevOriginMap, String> {
        match std::env::var(Self::ENV) {
            Ok(s) => Self::parse(&s).map_err(|e| format!("{}: {e}", Self::ENV)),
            Err(_) => Ok(DevOriginMap::default()),
        }
    }

    /// Whether any origin is mapped.
    pub fn is_active(&self) -> bool {
        !self.entries.is_empty()
    }

    /// `origin → target` pairs, for the warning the runtime logs.
    pub fn describe(&self) -> String {
        self.entries
            .iter()
            .map(|(o, t)| format!("{o} → {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn target(&self, origin: &Origin) -> Option<&DevTarget> {
        self.entries
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, t)| t)
    }

    /// Points `url`, whose origin is `origin`, at the origin's target when
    /// it has one, and says whether it did. Only the connection moves; the
    /// checks ran on the production URL. Only a rerouted request may
    /// connect to loopback (the client sends it through its dev agent), so
    /// the exception is keyed by the mapped origin, not by where it points.
    pub(super) fn reroute(&self, origin: &Origin, url: &mut Url) -> bool {
        let Some(t) = self.target(origin) else {
            return false;
        };
        let host = t.host.trim_start_matches('[').trim_end_matches(']');
        let mut wire = url.clone();
        let host_ok = match host.parse::<IpAddr>() {
            Ok(ip) => wire.set_ip_host(ip).is_ok(),
            Err(_) => wire.set_host(Some(host)).is_ok(),
        };
        let ok =
            host_ok && wire.set_scheme(&t.scheme).is_ok() && wire.set_port(Some(t.port)).is_ok();
        if ok {
            *url = wire;
        }
        ok
    }

    fn origin_of_target(&self, url: &Url) -> Option<&Origin> {
        let host = match url.host()? {
            Host::Ipv6(ip) => format!("[{ip}]"),
            h => h.to_string(),
        };
        let port = url.port_or_known_default()?;
        self.entries
            .iter()
            .find(|(_, t)| t.scheme == url.scheme() && t.host == host && t.port == port)
            .map(|(o, _)| o)
    }
}

/// A credential with its value (read from the environment at load time).
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) spec: CredentialSpec,
    value: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("spec", &self.spec)
            .field("value", &self.value.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Credential {
    pub(crate) fn new(spec: CredentialSpec, value: Option<String>) -> Credential {
        Credential {
            spec,
            value: value.filter(|v| !v.is_empty()),
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.value.is_some()
    }
}

/// What a plugin may reach, and with which credentials.
#[derive(Clone, Debug)]
pub(crate) struct HttpPolicy {
    pub(crate) allow: Vec<Origin>,
    pub(crate) credentials: Vec<Credential>,
}

impl HttpPolicy {
    /// Checks a URL against the rules, returning it parsed with its origin.
    /// The error is the `denied` reason the plugin sees.
    pub(crate) fn check_url(&self, raw: &str) -> Result<(Url, Origin), String> {
        let url = Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "only https:// URLs are allowed, not {}://",
                url.scheme()
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URLs with user info (user@host) are not allowed".to_owned());
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(ip)) => {
                return Err(format!(
                    "IP-address hosts are not allowed ({ip}); use a DNS name"
                ));
            }
            Some(Host::Ipv6(ip)) => {
                return Err(format!(
                    "IP-address hosts are not allowed ([{ip}]); use a DNS name"
                ));
            }
            None => return Err("the URL has no host".to_owned()),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let origin = Origin { host, port };
        if self.allow.contains(&origin) {
            return Ok((url, origin));
        }
        let same_host: Vec<String> = self
            .allow
            .iter()
            .filter(|o| o.host == origin.host)
            .map(ToString::to_string)
            .collect();
        if same_host.is_empty() {
            Err(format!(
                "host {} is not in the plugin's allow list",
                origin.host
            ))
        } else {
            Err(format!(
                "port {} is not allowed for {} (the manifest allows {})",
                port,
                origin.host,
                same_host.join(", ")
            ))
        }
    }

    /// Where a redirect from `origin` to `location` may go: `location` is
    /// resolved against `wire_url` (the URL the request went to; a dev-map
    /// target is read as its production origin), must stay on the same
    /// origin and passes [`HttpPolicy::check_url`] again. Returns the next
    /// URL with its origin.
    pub(super) fn check_redirect(
        &self,
        dev: &DevOriginMap,
        origin: &Origin,
        wire_url: &Url,
        location: &str,
    ) -> Result<(Url, Origin), HttpError> {
        let mut next = wire_url
            .join(location)
            .map_err(|_| HttpError::Denied(format!("redirect to an invalid URL {location:?}")))?;
        if let Some(prod) = dev.origin_of_target(&next) {
            let _ = next.set_scheme("https");
            let _ = next.set_host(Some(&prod.host));
            let _ = next.set_port(Some(prod.port).filter(|p| *p != 443));
        }
        let same_origin = next.scheme() == "https"
            && next.host_str() == Some(origin.host.as_str())
            && next.port_or_known_default() == Some(origin.port);
        if !same_origin {
            let to = next.origin().ascii_serialization();
            return Err(HttpError::Denied(format!(
                "redirect from {origin} to another origin ({to}) is not allowed"
            )));
        }
        self.check_url(next.as_str())
            .map_err(|r| HttpError::Denied(format!("redirect refused: {}", self.redact(&r))))
    }

    /// The byte strings [`HttpPolicy::redact`] removes: every credential
    /// value that is set, and its common encodings.
    fn secrets(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for c in &self.credentials {
            if let Some(v) = &c.value {
                out.extend(encodings(v));
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        out
    }

    /// Replaces every credential value in `text`, and its common encodings,
    /// with `[redacted]`. Everything the host hands a plugin (response
    /// headers and bodies, error texts) goes through this.
    pub(super) fn redact(&self, text: &str) -> String {
        let secrets = self.secrets();
        if secrets.is_empty() {
            return text.to_owned();
        }
        String::from_utf8_lossy(&redact_bytes(text.as_bytes(), &secrets)).into_owned()
    }

    /// [`HttpPolicy::redact`] for a response the plugin is about to get.
    pub(super) fn redact_response(&self, mut r: super::HttpResponse) -> super::HttpResponse {
        let secrets = self.secrets();
        if secrets.is_empty() {
            return r;
        }
        for (name, value) in &mut r.headers {
            *name = String::from_utf8_lossy(&redact_bytes(name.as_bytes(), &secrets)).into_owned();
            *value =
                String::from_utf8_lossy(&redact_bytes(value.as_bytes(), &secrets)).into_owned();
        }
        r.body = redact_bytes(&r.body, &secrets);
        r
    }

    /// [`HttpPolicy::redact`] for an error the plugin is about to get.
    pub(super) fn redact_error(&self, e: HttpError) -> HttpError {
        match e {
            HttpError::Denied(m) => HttpError::Denied(self.redact(&m)),
            HttpError::Transport(m) => HttpError::Transport(self.redact(&m)),
            other => other,
        }
    }

    /// Whether a request to `origin` carries a credential.
    pub(super) fn attaches_credentials(&self, origin: &Origin) -> bool {
        self.credentials
            .iter()
            .any(|c| &c.spec.origin == origin && c.value.is_some())
    }

    /// Adds this origin's credentials to the URL and headers, after dropping
    /// any query parameter or header of the same name the plugin set.
    pub(super) fn attach_credentials(
        &self,
        origin: &Origin,
        url: &mut Url,
        headers: &mut Vec<(String, String)>,
    ) {
        for c in self.credentials.iter().filter(|c| &c.spec.origin == origin) {
            match &c.spec.placement {
                Placement::Query(name) => {
                    if url.query_pairs().any(|(k, _)| k == name.as_str()) {
                        let kept: Vec<(String, String)> = url
                            .query_pairs()
                            .filter(|(k, _)| k != name.as_str())
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect();
                        url.set_query(None);
                        if !kept.is_empty() {
                            url.query_pairs_mut().extend_pairs(kept);
                        }
                    }
                    if let Some(v) = &c.value {
                        url.query_pairs_mut().append_pair(name, v);
                    }
                }
                Placement::Header { name, format } => {
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                    if let Some(v) = &c.value {
                        headers.push((name.clone(), format.replacen("{}", v, 1)));
                    }
                }
            }
        }
    }
}

/// A credential value as it may come back from a server that reflects a
/// request: verbatim, percent-encoded (query-string style with `+` and
/// path style with `%20`, upper- and lowercase hex), JSON-escaped (`/`
/// escaped or not), and
/// base64 (standard and URL-safe, with and without padding; a `user:pass`
/// value is what HTTP Basic sends that way).
fn encodings(v: &str) -> Vec<Vec<u8>> {
    let mut out = vec![v.as_bytes().to_vec()];
    let form: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
    out.push(form.into_bytes());
    let upper = percent_encode(v.as_bytes());
    out.push(upper.to_ascii_lowercase().into_bytes());
    out.push(upper.into_bytes());
    if let Ok(json) = serde_json::to_string(v) {
        let json = json.trim_matches('"');
        out.push(json.replace('/', "\\/").into_bytes());
        out.push(json.as_bytes().to_vec());
    }
    for url_safe in [false, true] {
        let b64 = base64(v.as_bytes(), url_safe);
        out.push(b64.trim_end_matches('=').as_bytes().to_vec());
        out.push(b64.into_bytes());
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Every byte outside the URL-unreserved set as `%XX`.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn base64(bytes: &[u8], url_safe: bool) -> String {
    let table: &[u8; 64] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `haystack` with every occurrence of each secret (longest first) replaced
/// by `[redacted]`.
fn redact_bytes(haystack: &[u8], secrets: &[Vec<u8>]) -> Vec<u8> {
    let mut cur = haystack.to_vec();
    for s in secrets {
        if cur.len() < s.len() || !cur.windows(s.len()).any(|w| w == s.as_slice()) {
            continue;
        }
        let mut out = Vec::with_capacity(cur.len());
        let mut i = 0;
        while i < cur.len() {
            if cur[i..].starts_with(s) {
                out.extend_from_slice(b"[redacted]");
                i += s.len();
            } else {
                out.push(cur[i]);
                i += 1;
            }
        }
        cur = out;
    }
    cur
}

/// Why an address is not a public unicast address, or `None` when it is.
pub fn address_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "unspecified",
        (127, ..) => "loopback",
        (10, ..) | (192, 168, _) => "private",
        (172, b, _) if (16..32).contains(&b) => "private",
        (100, b, _) if (64..128).contains(&b) => "shared (carrier-grade NAT)",
        (169, 254, _) => "link-local",
        (192, 0, 0) => "reserved",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, b, _) if b == 18 || b == 19 => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_class(v4);
    }
    Some(match s[0] {
        0xff00..=0xffff => "multicast",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xfc00..=0xfdff => "private (unique local)",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x2001 if s[1] == 0 => "Teredo tunnel",
        // 6to4 and NAT64 embed an IPv4 address: judge that address.
        0x2002 => {
            return v4_class(Ipv4Addr::new(
                (s[1] >> 8) as u8,
                s[1] as u8,
                (s[2] >> 8) as u8,
                s[2] as u8,
            ));
        }
        // RFC 8215: the local-use NAT64 prefix translates to whatever the
        // operator's network says, so the embedded address proves nothing.
        0x0064 if s[1] == 0xff9b && s[2] == 1 => "NAT64 local-use",
        0x0064 if s[1] == 0xff9b && s[2..6] != [0, 0, 0, 0] => "reserved (NAT64)",
        0x0064 if s[1] == 0xff9b => {
            return v4_class(Ipv4Addr::new(
                (s[6] >> 8) as u8,
                s[6] as u8,
                (s[7] >> 8) as u8,
                s[7] as u8,
            ));
        }
        0 => "reserved (IPv4-compatible)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn policy(allow: &[&str]) -> HttpPolicy {
        HttpPolicy {
            allow: allow
                .iter()
                .map(|a| Origin::parse(a).expect("origin"))
                .collect(),
            credentials: vec![],
        }
    }

    #[test]
    fn origins_are_exact() {
        let p = policy(&["https://api.example.com", "https://data.example.com:8443"]);
        assert!(p.check_url("https://api.example.com/v1?x=1").is_ok());
        assert!(p.check_url("https://API.example.com:443/v1").is_ok());
        assert!(p.check_url("https://data.example.com:8443/").is_ok());
        let deny = |u: &str| p.check_url(u).expect_err(u);
        assert!(deny("http://api.example.com/").contains("only https://"));
        assert!(deny("https://api.example.com:8443/").contains("port 8443 is not allowed"));
        assert!(deny("https://data.example.com/").contains("port 443 is not allowed"));
        assert!(deny("https://evil.example/").contains("not in the plugin's allow list"));
        assert!(
            deny("https://api.example.com.evil.example/")
                .contains("not in the plugin's allow list")
        );
        assert!(deny("https://user:pw@api.example.com/").contains("user info"));
        assert!(deny("https://api.example.com@evil.example/").contains("user info"));
        assert!(deny("https://127.0.0.1/").contains("IP-address"));
        assert!(deny("https://2130706433/").contains("IP-address"));
        assert!(deny("https://[::1]/").contains("IP-address"));
        assert!(deny("file:///etc/passwd").contains("only https://"));
        assert!(deny("not a url").contains("not a valid URL"));
    }

    #[test]
    fn address_classes() {
        let class = |s: &str| address_class(s.parse().expect("ip"));
        for (ip, c) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fd00::1", "private (unique local)"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("2002:7f00:1::", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("64:ff9b:1::a9fe:a9fe", "NAT64 local-use"),
            ("64:ff9b:1:ffff::808:808", "NAT64 local-use"),
            ("64:ff9b:2::808:808", "reserved (NAT64)"),
        ] {
            assert_eq!(class(ip), Some(c), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "2002:808:808::",
            "64:ff9b::808:808",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn credentials_replace_what_the_plugin_set() {
        let m = Manifest::parse(
            r#"id = "p"
version = "1"
kind = "source"
wit = "0.1"
component = "p.wasm"
description = ""
[http]
allow = ["https://a.example", "https://b.example"]
[[credentials]]
name = "key"
origin = "https://a.example"
query = "key"
[[credentials]]
name = "token"
origin = "https://a.example"
header = "Authorization"
format = "Bearer {}"
"#,
        )
        .expect("manifest");
        let p = HttpPolicy {
            allow: m.allow.clone(),
            credentials: vec![
                Credential::new(m.credentials[0].clone(), Some("s3cret".into())),
                Credential::new(m.credentials[1].clone(), Some("tok".into())),
            ],
        };
        let (mut url, origin) = p
            .check_url("https://a.example/x?key=mine&q=1")
            .expect("allowed");
        let mut headers = vec![
            ("authorization".to_owned(), "Bearer stolen".to_owned()),
            ("x".into(), "y".into()),
        ];
        p.attach_credentials(&origin, &mut url, &mut headers);
        assert_eq!(url.query(), Some("q=1&key=s3cret"));
        assert_eq!(
            headers,
            vec![
                ("x".into(), "y".into()),
                ("authorization".into(), "Bearer tok".into())
            ]
        );
        assert_eq!(
            p.redact("GET https://a.example/x?key=s3cret failed"),
            "GET https://a.example/x?key=[redacted] failed"
        );

        // Issue 12: every encoding a reflecting server may send back.
        let p = HttpPolicy {
            allow: m.allow.clone(),
            credentials: vec![Credential::new(
                m.credentials[0].clone(),
                Some("user:p@ss w/rd".into()),
            )],
        };
        for reflected in [
            "user:p@ss w/rd",
            "user%3Ap%40ss+w%2Frd",
            "user%3Ap%40ss%20w%2Frd",
            "user%3ap%40ss%20w%2frd",
            "user:p@ss w\\/rd",
            "dXNlcjpwQHNzIHcvcmQ=",
            "dXNlcjpwQHNzIHcvcmQ",
        ] {
            assert_eq!(p.redact(&format!("<{reflected}>")), "<[redacted]>");
        }

        // Another origin gets nothing.
        let (mut url, origin) = p.check_url("https://b.example/x").expect("allowed");
        let mut headers = vec![];
        p.attach_credentials(&origin, &mut url, &mut headers);
        assert_eq!(url.query(), None);
        assert!(headers.is_empty());
    }

    #[test]
    fn dev_map_targets_must_be_loopback() {
        let m = DevOriginMap::parse(
            "https://www.googleapis.com=http://127.0.0.1:8080, https://a.example=http://[::1]:9",
        )
        .expect("valid");
        assert!(m.is_active());
        assert_eq!(
            m.describe(),
            "https://www.googleapis.com → http://127.0.0.1:8080, https://a.example → http://[::1]:9"
        );
        assert!(
            DevOriginMap::parse("https://a.example=http://10.0.0.1:80")
                .expect_err("private")
                .contains("loopback")
        );
        assert!(
            DevOriginMap::parse("https://a.example=http://evil.example:80")
                .expect_err("name")
                .contains("loopback")
        );
        assert!(
            DevOriginMap::parse("http://a.example=http://127.0.0.1:80")
                .expect_err("http")
                .contains("https://")
        );
        assert!(
            DevOriginMap::parse("https://a.example")
                .expect_err("pair")
                .contains("is not")
        );
        assert_eq!(
            DevOriginMap::parse("").expect("empty"),
            DevOriginMap::default()
        );
    }
}
