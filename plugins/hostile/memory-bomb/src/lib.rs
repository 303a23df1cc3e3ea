//! Hostile test plugin: `fetch-page` allocates until it dies.
//!
//! It keeps 1 MiB blocks (each written to) until an allocation fails, which
//! aborts: the host's memory limit (`memory_mb`) must stop it with a trap
//! long before the 4 GiB a wasm32 memory can reach.

use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source};

/// A source whose `fetch-page` allocates without bound.
#[derive(Debug)]
pub struct MemoryBomb;

impl Source for MemoryBomb {
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
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut block = vec![0u8; 1 << 20];
            for byte in block.iter_mut().step_by(4096) {
                *byte = 0xa5;
            }
            hoard.push(std::hint::black_box(block));
        }
    }
}

fairdraw_plugin_sdk::export_source!(MemoryBomb);
