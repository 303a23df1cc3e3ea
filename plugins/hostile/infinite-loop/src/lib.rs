//! Hostile test plugin: `fetch-page` never returns.
//!
//! The host must interrupt it at its time limit (epoch deadline or fuel),
//! report a trap and not reuse the instance.

use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source};

/// A source whose `fetch-page` spins forever without calling the host.
#[derive(Debug)]
pub struct InfiniteLoop;

impl Source for InfiniteLoop {
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
        let mut spins: u64 = 0;
        loop {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

fairdraw_plugin_sdk::export_source!(InfiniteLoop);
