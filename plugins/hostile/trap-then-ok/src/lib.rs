//! Hostile test plugin: the first `fetch-page` of an instance traps; later
//! calls on the same instance answer normally.
//!
//! A flag in linear memory is set before the trap, and memory survives a
//! trap. A host that discards an instance after a trap therefore sees every
//! `fetch-page` trap; a host that reuses the trapped instance gets a page
//! (one entry, `text` = `answered after a trap`) and fails the test.

use std::sync::atomic::{AtomicBool, Ordering};

use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source};

/// A source that traps once per instance.
#[derive(Debug)]
pub struct TrapThenOk;

static CALLED: AtomicBool = AtomicBool::new(false);

impl Source for TrapThenOk {
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
        if !CALLED.swap(true, Ordering::SeqCst) {
            panic!("trap-then-ok: the first fetch-page of an instance traps");
        }
        Ok(Page::last(vec![Entry {
            platform: "hostile".into(),
            user_id: "1".into(),
            handle: "@reused".into(),
            text: "answered after a trap".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            ..Entry::default()
        }]))
    }
}

fairdraw_plugin_sdk::export_source!(TrapThenOk);
