//! Hostile test plugin: `fetch-page` recurses without bound.
//!
//! Each frame keeps 256 bytes live across the call, so it is not a tail
//! call. It ends in a trap: wasmtime's native stack limit (`max_wasm_stack`)
//! or an out-of-bounds access when the shadow stack in linear memory runs
//! out, whichever comes first. The host must report the trap and survive.

use std::hint::black_box;

use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source};

/// A source whose `fetch-page` recurses until the stack runs out.
#[derive(Debug)]
pub struct DeepRecursion;

fn dive(depth: u64) -> u64 {
    let pad = black_box([depth as u8; 256]);
    if black_box(depth == u64::MAX) {
        return 0;
    }
    dive(depth + 1).wrapping_add(u64::from(pad[(depth % 256) as usize]))
}

impl Source for DeepRecursion {
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
        let depth = dive(0);
        Err(PluginError::Other(format!(
            "the recursion returned at depth {depth}"
        )))
    }
}

fairdraw_plugin_sdk::export_source!(DeepRecursion);
