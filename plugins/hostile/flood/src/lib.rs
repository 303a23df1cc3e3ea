//! Hostile test plugin: a collection that never ends, in large pages.
//!
//! `fetch-page` answers cursors `1`, `2`, `3`, … (the first page → `1`),
//! never a last page, each page with config `entries` entries (default
//! 50,000) whose `text` is config `text_bytes` bytes long (default 600): about
//! 30 MB a page, well inside the per-page bounds, so only the host's bounds
//! on a whole fetch (entries, bytes, pages) stop it. A host that keeps every
//! entry until the end grows by that much per page (issue 12: 3 GB in 11 s).
//!
//! Every entry is a distinct account (`user_id` = page × entries + index),
//! so no deduplication can shrink the flood either.

use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, config};

/// A source whose pages keep coming.
#[derive(Debug)]
pub struct Flood;

impl Source for Flood {
    fn describe() -> Info {
        Info::new("hostile")
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        Ok(Post {
            id: "1".into(),
            url: url.into(),
        })
    }

    fn fetch_page(_: &Post, _: Collection, cursor: Option<&str>) -> Result<Page, PluginError> {
        let per_page = config::parse::<u64>("entries")?.unwrap_or(50_000);
        let text_bytes = config::parse::<usize>("text_bytes")?.unwrap_or(600);
        let page: u64 = match cursor {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| PluginError::InvalidInput(format!("cursor {c:?} is not a number")))?,
        };
        let text = "x".repeat(text_bytes);
        let entries = (0..per_page)
            .map(|i| {
                let n = page * per_page + i;
                Entry {
                    platform: "hostile".into(),
                    user_id: n.to_string(),
                    handle: format!("@flood{n}"),
                    text: text.clone(),
                    created_at: "2024-01-01T00:00:00Z".into(),
                    ..Entry::default()
                }
            })
            .collect();
        Ok(Page::new(entries, Some((page + 1).to_string())))
    }
}

fairdraw_plugin_sdk::export_source!(Flood);
