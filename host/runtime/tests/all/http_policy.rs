use crate::plugin::{LogLevel, PluginError, PluginRuntime, SourcePlugin};
use crate::support::{Logs, MockServer, Reply, Setup, fetch, runtime, source};

/// `allowed.example` served by a mock server through the dev origin map.
fn setup(
    extra: &str,
    credentials: &[(&str, &str)],
) -> (
    MockServer,
    PluginRuntime,
    Logs,
    impl Fn(&str) -> SourcePlugin,
) {
    let server = MockServer::start(|r| match r.target.split('?').next().unwrap_or_default() {
        "/ok" => Reply::ok("ok"),
        "/echo" => Reply::ok(format!(
            "{} {} {}",
            r.method,
            r.target,
            r.header("authorization").unwrap_or("-")
        )),
        "/redirect-to-metadata" => Reply::redirect("http://169.254.169.254/latest/meta-data/"),
        "/redirect-same" => Reply::redirect("/ok"),
        "/redirect-absolute" => Reply::redirect("https://allowed.example/ok"),
        "/redirect-other" => Reply::redirect("https://other.example/ok"),
        "/redirect-loop" => Reply::redirect("/redirect-loop"),
        "/big" => Reply::ok(vec![b'x'; 100_000]),
        _ => Reply::status(404, "no such page"),
    });
    let dev = format!("https://allowed.example={}", server.origin());
    let (rt, logs) = runtime(Setup {
        dev_map: &dev,
        credentials,
        ..Setup::default()
    });
    let extra = extra.to_owned();
    let rt2 = rt.clone();
    let load = move |target: &str| {
        let toml = format!(
            "[http]\nallow = [\"https://allowed.example\"]\n{extra}\n[config]\ntarget = \"url\"\nurl = {target:?}\n"
        );
        source(&rt2, "bad-hosts", "hostile-bad-hosts", &toml)
    };
    (server, rt, logs, load)
}

/// What the plugin got back: its page text or its error.
fn outcome(p: &SourcePlugin) -> Result<String, PluginError> {
    fetch(p)
        .expect("no fault")
        .map(|page| page.entries[0].text.to_string())
}

fn denied(p: &SourcePlugin) -> String {
    match outcome(p) {
        Err(PluginError::Http(m)) => m,
        other => panic!("expected an http error, got {other:?}"),
    }
}

#[test]
fn each_bad_host_is_denied_with_its_reason() {
    let (server, _rt, logs, load) = setup("", &[]);
    assert_eq!(
        outcome(&load("https://allowed.example/ok")).expect("allowed"),
        "status 200: ok"
    );
    for (url, reason) in [
        (
            "https://other.example/",
            "denied: host other.example is not in the plugin's allow list",
        ),
        (
            "https://evil.allowed.example/",
            "denied: host evil.allowed.example is not in the plugin's allow list",
        ),
        (
            "https://allowed.example.evil.example/",
            "denied: host allowed.example.evil.example is not in the plugin's allow list",
        ),
        (
            "https://user@allowed.example/",
            "denied: URLs with user info (user@host) are not allowed",
        ),
        (
            "https://allowed.example@evil.example/",
            "denied: URLs with user info (user@host) are not allowed",
        ),
        (
            "https://127.0.0.1/",
            "denied: IP-address hosts are not allowed (127.0.0.1); use a DNS name",
        ),
        (
            "https://[::1]/",
            "denied: IP-address hosts are not allowed ([::1]); use a DNS name",
        ),
        (
            "https://0x7f000001/",
            "denied: IP-address hosts are not allowed (127.0.0.1); use a DNS name",
        ),
        (
            "http://allowed.example/",
            "denied: only https:// URLs are allowed, not http://",
        ),
        (
            "https://allowed.example:8443/",
            "denied: port 8443 is not allowed for allowed.example (the manifest allows https://allowed.example)",
        ),
        (
            "https://allowed.example/redirect-to-metadata",
            "denied: redirect from https://allowed.example to another origin (http://169.254.169.254) is not allowed",
        ),
        (
            "https://allowed.example/redirect-other",
            "denied: redirect from https://allowed.example to another origin (https://other.example) is not allowed",
        ),
        (
            "https://allowed.example/redirect-loop",
            "denied: more than 5 redirects",
        ),
    ] {
        assert_eq!(denied(&load(url)), reason, "{url}");
    }
    // Denied requests never reached the network; the redirect loop made 5 + 1.
    let hits: Vec<String> = server.received().into_iter().map(|r| r.target).collect();
    assert_eq!(
        hits.iter().filter(|t| *t == "/redirect-loop").count(),
        6,
        "{hits:?}"
    );
    assert!(hits.iter().all(|t| !t.contains("meta-data")), "{hits:?}");
    // The dev map is announced.
    assert!(
        logs.lines()
            .iter()
            .any(|l| l.level == LogLevel::Warn && l.message.contains("FAIRDRAW_DEV_ORIGIN_MAP"))
    );
}

#[test]
fn the_real_targets_of_bad_hosts_are_denied() {
    // The plugin's own table of targets (`TARGETS` in its source).
    let (_server, rt, _, _) = setup("", &[]);
    for (target, reason) in [
        ("other-host", "not in the plugin's allow list"),
        ("subdomain", "not in the plugin's allow list"),
        ("userinfo", "user info"),
        ("ip-literal", "IP-address hosts are not allowed"),
        ("ipv6-literal", "IP-address hosts are not allowed"),
        ("http", "only https://"),
        ("other-port", "port 8443 is not allowed"),
        ("redirect", "to another origin (http://169.254.169.254)"),
    ] {
        let toml = format!(
            "[http]\nallow = [\"https://allowed.example\"]\n[config]\ntarget = {target:?}\n"
        );
        let p = source(&rt, "bad-hosts-table", "hostile-bad-hosts", &toml);
        let m = denied(&p);
        assert!(
            m.starts_with("denied: ") && m.contains(reason),
            "{target}: {m}"
        );
    }
}

#[test]
fn names_resolving_to_private_addresses_are_denied() {
    // `localhost` is a DNS name, so it passes the URL rules; its address does not.
    let (rt, _) = runtime(Setup::default());
    let toml = "[http]\nallow = [\"https://localhost:1\"]\n[config]\ntarget = \"url\"\nurl = \"https://localhost:1/\"";
    let p = source(&rt, "bad-hosts-dns", "hostile-bad-hosts", toml);
    let m = denied(&p);
    assert!(
        m.starts_with("denied: localhost resolves to a loopback address ("),
        "{m}"
    );
}

#[test]
fn same_origin_redirects_are_followed() {
    let (server, _rt, _, load) = setup("", &[]);
    assert_eq!(
        outcome(&load("https://allowed.example/redirect-same")).expect("followed"),
        "status 200: ok"
    );
    assert_eq!(
        outcome(&load("https://allowed.example/redirect-absolute")).expect("followed"),
        "status 200: ok"
    );
    let hits: Vec<String> = server.received().into_iter().map(|r| r.target).collect();
    assert_eq!(hits, ["/redirect-same", "/ok", "/redirect-absolute", "/ok"]);
}

#[test]
fn credentials_are_attached_by_the_host_for_their_origin_only() {
    let creds = "[[credentials]]\nname = \"api-key\"\norigin = \"https://allowed.example\"\nquery = \"key\"\n\
                 [[credentials]]\nname = \"token\"\norigin = \"https://allowed.example\"\nheader = \"Authorization\"\nformat = \"Bearer {}\"\n";
    let (server, _rt, _, load) = setup(
        creds,
        &[
            ("FAIRDRAW_CREDENTIAL_BAD__HOSTS_API_KEY", "s3cret"),
            ("FAIRDRAW_CREDENTIAL_BAD__HOSTS_TOKEN", "tok"),
        ],
    );
    // The plugin's own `key` parameter is replaced, not kept beside the real
    // one; the server echoes both credentials, and the plugin gets the echo
    // with them redacted (issue 12).
    let text = outcome(&load("https://allowed.example/echo?q=1&key=forged")).expect("echo");
    assert_eq!(
        text,
        "status 200: GET /echo?q=1&key=[redacted] Bearer [redacted]"
    );
    let r = &server.received()[0];
    assert_eq!(r.target, "/echo?q=1&key=s3cret");
    assert_eq!(r.header("authorization"), Some("Bearer tok"));
}

#[test]
fn missing_credentials_are_reported_by_inspect() {
    let creds = "[[credentials]]\nname = \"api-key\"\norigin = \"https://allowed.example\"\nquery = \"key\"\n";
    let (_server, rt, _, load) = setup(creds, &[]);
    let p = load("https://allowed.example/ok");
    let info = rt.inspect(p.id()).expect("inspect");
    assert_eq!(
        info.missing_credentials,
        ["FAIRDRAW_CREDENTIAL_BAD__HOSTS_API_KEY"]
    );
}

#[test]
fn responses_and_request_counts_are_bounded() {
    let (_server, _rt, _, load) = setup("[limits]\nmax_response_bytes = 1000", &[]);
    assert_eq!(
        denied(&load("https://allowed.example/big")),
        "too large: the response exceeds 1000 bytes"
    );
    let (_server, _rt, _, load) = setup("[limits]\nmax_requests_per_call = 2", &[]);
    // Two redirects and the final request would be three.
    let m = denied(&load("https://allowed.example/redirect-loop"));
    assert!(m.contains("2"), "{m}");
}
