#![doc = include_str!("../README.md")]

mod error;
mod export;
mod host;
mod types;

pub mod config;
pub mod http;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod time;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{PluginError, RateLimit};
pub use types::{
    BeaconRound, Collection, Entry, EntryRef, Info, Page, Post, UnsupportedCheck, Verdict,
};

/// A social platform (world `source-plugin`). Export it with
/// [`export_source!`].
///
/// The host drives pagination: it calls [`Source::fetch_page`] with no
/// cursor, then with each page's `next_cursor` until there is none, so it
/// can show progress, retry, resume and stop at limits. Keep each call to a
/// few requests (the manifest's `max_requests_per_call`, 5 by default).
pub trait Source {
    /// Describes the source: platform name, collections, credentials it
    /// needs and rules it cannot check.
    fn describe() -> Info;

    /// Parses a post URL into the platform's post id and canonical URL.
    /// Fails with [`PluginError::InvalidInput`] for a URL of another
    /// platform or shape.
    fn parse_url(url: &str) -> Result<Post, PluginError>;

    /// Fetches one page of `collection` of `post`: the first page when
    /// `cursor` is `None`, else the page the previous `next_cursor` named.
    /// A collection the source cannot list fails with
    /// [`PluginError::InvalidInput`].
    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError>;
}

/// An eligibility filter (world `filter-plugin`; no network). Export it
/// with [`export_filter!`].
///
/// Implement [`Filter::verdict`] for a rule on one entry at a time, or
/// override [`Filter::check`] for a rule on the whole batch (duplicates).
pub trait Filter {
    /// The filter's configuration, parsed from the draw's JSON by
    /// [`Filter::parse_config`]. Use `()` for none.
    type Config: serde::de::DeserializeOwned + Default;

    /// Parses the configuration. By default: empty (or blank) JSON is
    /// `Config::default()`; anything else must deserialize as a `Config`,
    /// or the call fails with [`PluginError::InvalidInput`].
    fn parse_config(json: &str) -> Result<Self::Config, PluginError> {
        if json.trim().is_empty() {
            return Ok(Self::Config::default());
        }
        serde_json::from_str(json)
            .map_err(|e| PluginError::InvalidInput(format!("filter configuration: {e}")))
    }

    /// Decides one entry. The default keeps it.
    fn verdict(entry: &EntryRef<'_>, config: &Self::Config) -> Verdict {
        let _ = (entry, config);
        Verdict::Keep
    }

    /// Decides a batch: one verdict per entry, in order. The default applies
    /// [`Filter::verdict`] to each.
    fn check(entries: &[EntryRef<'_>], config: &Self::Config) -> Result<Vec<Verdict>, PluginError> {
        Ok(entries.iter().map(|e| Self::verdict(e, config)).collect())
    }
}

/// A randomness beacon (world `beacon-plugin`). Export it with
/// [`export_beacon!`].
pub trait Beacon {
    /// Fetches `round` of `chain` (the latest when `None`), as published.
    /// The engine verifies it, so a beacon plugin cannot forge randomness.
    fn fetch(chain: &str, round: Option<u64>) -> Result<BeaconRound, PluginError>;
}

/// Used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    use crate::{Beacon, EntryRef, Filter, PluginError, Source, Verdict};

    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::{bindings, unpack_batch};
    #[cfg(target_arch = "wasm32")]
    pub use wit_bindgen;

    /// Runs a filter on a batch: parses the config, checks, and makes sure
    /// there is one verdict per entry.
    pub fn run_filter<F: Filter>(
        entries: &[EntryRef<'_>],
        config: &str,
    ) -> Result<Vec<Verdict>, PluginError> {
        let config = F::parse_config(config)?;
        let verdicts = F::check(entries, &config)?;
        if verdicts.len() != entries.len() {
            return Err(PluginError::Other(format!(
                "the filter returned {} verdicts for {} entries",
                verdicts.len(),
                entries.len()
            )));
        }
        Ok(verdicts)
    }

    pub fn assert_source<T: Source + ?Sized>() {}
    pub fn assert_filter<T: Filter + ?Sized>() {}
    pub fn assert_beacon<T: Beacon + ?Sized>() {}
}

include!(concat!(env!("OUT_DIR"), "/worlds.rs"));
