//! Hostile test plugin: panics.
//!
//! A Rust panic in a component prints its message to stderr (a WASI
//! import) and aborts: the host sees a trap. Config `where` picks the
//! export that panics: `describe`, `parse-url` or `fetch-page` (default).

use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source, config};

/// A source that panics in the export `where` names.
#[derive(Debug)]
pub struct Panic;

fn panic_in(export: &str) {
    if config::get("where").as_deref().unwrap_or("fetch-page") == export {
        panic!("hostile-panic: deliberate panic in {export}");
    }
}

impl Source for Panic {
    fn describe() -> Info {
        panic_in("describe");
        Info::new("hostile")
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        panic_in("parse-url");
        Ok(Post {
            id: "1".into(),
            url: url.into(),
        })
    }

    fn fetch_page(_: &Post, _: Collection, _: Option<&str>) -> Result<Page, PluginError> {
        panic_in("fetch-page");
        Ok(Page::last(Vec::new()))
    }
}

fairdraw_plugin_sdk::export_source!(Panic);
