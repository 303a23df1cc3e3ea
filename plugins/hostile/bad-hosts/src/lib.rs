//! Hostile test plugin: requests URLs the host must refuse.
//!
//! Its manifest allows only `https://allowed.example`. Config `target`
//! picks the request `fetch-page` makes (see README.md for the table). A
//! host refusal comes back verbatim as `plugin-error::http("<http-error>")`,
//! e.g. `http("denied: …")`, so tests can assert the reason; a response comes
//! back as a page of one entry whose `text` is `status <code>: <body>`.

use fairdraw_plugin_sdk::http::{self, Request};
use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, config};

/// A source whose `fetch-page` requests the URL `target` names.
#[derive(Debug)]
pub struct BadHosts;

/// `(target, url)`: every request this plugin can make besides `url`.
pub const TARGETS: [(&str, &str); 9] = [
    ("allowed", "https://allowed.example/ok"),
    ("other-host", "https://other.example/"),
    ("subdomain", "https://evil.allowed.example/"),
    ("userinfo", "https://user@allowed.example/"),
    ("ip-literal", "https://127.0.0.1/"),
    ("ipv6-literal", "https://[::1]/"),
    ("http", "http://allowed.example/"),
    ("other-port", "https://allowed.example:8443/"),
    ("redirect", "https://allowed.example/redirect-to-metadata"),
];

/// The URL for config `target` (`url` takes config `url` verbatim).
pub fn target_url() -> Result<String, PluginError> {
    let target = config::get("target").unwrap_or_else(|| "allowed".into());
    if target == "url" {
        return config::get("url")
            .ok_or_else(|| PluginError::InvalidInput("target `url` needs config `url`".into()));
    }
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, url)| (*url).to_owned())
        .ok_or_else(|| PluginError::InvalidInput(format!("unknown target {target:?}")))
}

impl Source for BadHosts {
    fn describe() -> Info {
        Info::new("hostile")
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        Ok(Post {
            id: "1".into(),
            url: url.into(),
        })
    }

    fn fetch_page(_: &Post, _: Collection, _: Option<&str>) -> Result<Page, PluginError> {
        let response = http::send(&Request::get(target_url()?))?;
        let body = response.text();
        let body: String = body.chars().take(200).collect();
        Ok(Page::last(vec![Entry {
            platform: "hostile".into(),
            user_id: "1".into(),
            handle: "@bad-hosts".into(),
            text: format!("status {}: {body}", response.status),
            created_at: "2024-01-01T00:00:00Z".into(),
            ..Entry::default()
        }]))
    }
}

fairdraw_plugin_sdk::export_source!(BadHosts);
