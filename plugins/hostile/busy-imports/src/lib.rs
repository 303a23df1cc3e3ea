//! Hostile test plugin: `fetch-page` calls the host's imports forever.
//!
//! Each turn logs a line, reads a config key and sends a request to its one
//! allowed origin, ignoring every answer (`too-many-requests` included). The
//! host must still stop it at its time limit although it is mostly inside
//! host calls, and must bound what the log lines cost.

use fairdraw_plugin_sdk::http::{self, Request};
use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source, config, log};

/// A source whose `fetch-page` loops over `log`, `config` and `http`.
#[derive(Debug)]
pub struct BusyImports;

impl Source for BusyImports {
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
        let request = Request::get("https://allowed.example/busy");
        let mut turn: u64 = 0;
        loop {
            turn = turn.wrapping_add(1);
            log::info(format!("busy-imports turn {turn}"));
            std::hint::black_box(config::get("target"));
            let _ = std::hint::black_box(http::send(&request));
        }
    }
}

fairdraw_plugin_sdk::export_source!(BusyImports);
