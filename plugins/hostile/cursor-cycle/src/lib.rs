//! Hostile test plugin: pagination that never ends.
//!
//! Config `mode` picks how `fetch-page` answers, always with an empty page:
//!
//! * `cycle` (default): cursors `A`, `B`, `A`, `B`, … (first page → `A`,
//!   `A` → `B`, `B` → `A`);
//! * `count`: cursors `1`, `2`, `3`, … (never repeats);
//! * `same`: the cursor it was given (the first page → `A`).
//!
//! With config `entries` = `N`, each `count` page carries N entries instead,
//! so the fetch is bounded by pages or entries, not by empty pages.

use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, config};

/// A source whose cursors never reach a last page.
#[derive(Debug)]
pub struct CursorCycle;

impl Source for CursorCycle {
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
        let mode = config::get("mode").unwrap_or_else(|| "cycle".into());
        let next = match (mode.as_str(), cursor) {
            ("cycle", Some("A")) => "B".to_owned(),
            ("cycle" | "same", None) => "A".to_owned(),
            ("cycle", Some(_)) => "A".to_owned(),
            ("same", Some(c)) => c.to_owned(),
            ("count", c) => {
                let n: u64 = c.and_then(|c| c.parse().ok()).unwrap_or(0);
                (n + 1).to_string()
            }
            (other, _) => return Err(PluginError::InvalidInput(format!("unknown mode {other:?}"))),
        };
        let per_page: usize = config::get("entries")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let entries = (0..per_page)
            .map(|i| Entry {
                platform: "hostile".into(),
                user_id: i.to_string(),
                handle: format!("@{next}-{i}"),
                text: "x".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
                ..Entry::default()
            })
            .collect();
        Ok(Page::new(entries, Some(next)))
    }
}

fairdraw_plugin_sdk::export_source!(CursorCycle);
