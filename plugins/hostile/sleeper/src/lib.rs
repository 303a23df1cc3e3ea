//! Hostile test plugin: `fetch-page` sleeps (a `wasi:io/poll` on a
//! monotonic-clock subscription) for config `ms` milliseconds (default
//! 20,000), in config `times` sleeps (default 1), then answers an empty page.
//!
//! The host must stop it at its time limit: a sleep is a blocking host call,
//! which the epoch deadline alone does not interrupt.

use std::time::Duration;

use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source, config};

/// A source whose `fetch-page` sleeps past any reasonable deadline.
#[derive(Debug)]
pub struct Sleeper;

fn number(key: &str, default: u64) -> u64 {
    config::get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Source for Sleeper {
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
        let ms = number("ms", 20_000);
        for _ in 0..number("times", 1) {
            std::thread::sleep(Duration::from_millis(ms));
        }
        Ok(Page::last(Vec::new()))
    }
}

fairdraw_plugin_sdk::export_source!(Sleeper);
