//! Hostile test plugin: `fetch-page` returns one page of 10 million entries.
//!
//! The entries are empty (no heap per entry), yet the page is about 1 GiB
//! in the guest and as much again once lowered for the host. Under the
//! default memory limit the plugin dies of it (a trap); with a limit large
//! enough it returns the page, and the host must refuse or bound it rather
//! than lift it whole. Config `count` changes the number of entries.

use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, config};

/// A source whose one page is enormous.
#[derive(Debug)]
pub struct HugePage;

impl Source for HugePage {
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
        let count = config::parse::<usize>("count")?.unwrap_or(10_000_000);
        Ok(Page::last(vec![Entry::default(); count]))
    }
}

fairdraw_plugin_sdk::export_source!(HugePage);
