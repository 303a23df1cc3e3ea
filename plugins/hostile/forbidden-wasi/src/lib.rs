//! Hostile test plugin: uses WASI the host does not grant.
//!
//! `fetch-page` reads a file, the environment and opens a TCP connection
//! with `std`, so the component imports `wasi:filesystem/*`,
//! `wasi:sockets/*` and `wasi:cli/environment`. A host that links only the
//! WASI it grants refuses to instantiate it. If it does run, each attempt is
//! reported as one entry (`handle` `@fs`, `@env`, `@net`; `text` the
//! outcome) so a test can assert nothing leaked. Config `target` limits the
//! attempts to `fs`, `env` or `net` (default: all three).

use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, config};

/// A source that reaches for the file system, the environment and sockets.
#[derive(Debug)]
pub struct ForbiddenWasi;

fn attempt(name: &str) -> String {
    match name {
        "fs" => match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => format!("LEAKED {} bytes of /etc/passwd", text.len()),
            Err(e) => format!("refused: {e}"),
        },
        "env" => {
            let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
            if vars.is_empty() {
                "refused: no variables".into()
            } else {
                format!("LEAKED {}", vars.join(","))
            }
        }
        _ => match std::net::TcpStream::connect(("127.0.0.1", 80)) {
            Ok(_) => "LEAKED a connection to 127.0.0.1:80".into(),
            Err(e) => format!("refused: {e}"),
        },
    }
}

impl Source for ForbiddenWasi {
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
        let target = config::get("target");
        let entries = ["fs", "env", "net"]
            .into_iter()
            .filter(|name| target.as_deref().is_none_or(|t| t == *name))
            .map(|name| Entry {
                platform: "hostile".into(),
                user_id: name.into(),
                handle: format!("@{name}"),
                text: attempt(name),
                created_at: "2024-01-01T00:00:00Z".into(),
                ..Entry::default()
            })
            .collect();
        Ok(Page::last(entries))
    }
}

fairdraw_plugin_sdk::export_source!(ForbiddenWasi);
