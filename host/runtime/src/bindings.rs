//! Generated bindings, one module per released WIT version.
//!
//! Released WIT is frozen, so a module here is never regenerated from edited
//! WIT: a new version gets a new module, and each converts its values into
//! the version-independent types of [`super::types`] with `From`.

/// `fairdraw:plugin@0.1.0` (`wit/v0.1/plugin.wit`).
pub(crate) mod v0_1 {
    use fairdraw_engine::entry::{Entry, OwnedEntry};
    use std::borrow::Cow;

    use super::super::types as host;

    /// The interface names a v0.1 component may import or export.
    pub(crate) const PACKAGE: &str = "fairdraw:plugin";
    /// The package version.
    pub(crate) const VERSION: &str = "0.1.0";

    /// `source-plugin`; also generates the shared `types`, `http`, `log` and
    /// `config` interfaces that the other worlds reuse.
    pub(crate) mod source {
        wasmtime::component::bindgen!({
            path: "../../wit/v0.1",
            world: "source-plugin",
        });
    }

    /// `filter-plugin`.
    pub(crate) mod filter {
        wasmtime::component::bindgen!({
            path: "../../wit/v0.1",
            world: "filter-plugin",
            with: {
                "fairdraw:plugin/types": super::source::fairdraw::plugin::types,
                "fairdraw:plugin/log": super::source::fairdraw::plugin::log,
                "fairdraw:plugin/config": super::source::fairdraw::plugin::config,
            },
        });
    }

    /// `beacon-plugin`.
    pub(crate) mod beacon {
        wasmtime::component::bindgen!({
            path: "../../wit/v0.1",
            world: "beacon-plugin",
            with: {
                "fairdraw:plugin/types": super::source::fairdraw::plugin::types,
                "fairdraw:plugin/http": super::source::fairdraw::plugin::http,
                "fairdraw:plugin/log": super::source::fairdraw::plugin::log,
                "fairdraw:plugin/config": super::source::fairdraw::plugin::config,
            },
        });
    }

    pub(crate) use beacon::exports::fairdraw::plugin::beacon as beacon_api;
    pub(crate) use filter::exports::fairdraw::plugin::filter as filter_api;
    pub(crate) use source::exports::fairdraw::plugin::source as source_api;
    pub(crate) use source::fairdraw::plugin::{config, http, log, types};

    impl From<types::Collection> for host::Collection {
        fn from(c: types::Collection) -> Self {
            match c {
                types::Collection::Comments => host::Collection::Comments,
                types::Collection::Replies => host::Collection::Replies,
                types::Collection::Likes => host::Collection::Likes,
                types::Collection::Reposts => host::Collection::Reposts,
                types::Collection::Followers => host::Collection::Followers,
            }
        }
    }

    impl From<host::Collection> for types::Collection {
        fn from(c: host::Collection) -> Self {
            match c {
                host::Collection::Comments => types::Collection::Comments,
                host::Collection::Replies => types::Collection::Replies,
                host::Collection::Likes => types::Collection::Likes,
                host::Collection::Reposts => types::Collection::Reposts,
                host::Collection::Followers => types::Collection::Followers,
            }
        }
    }

    impl From<types::PluginError> for host::PluginError {
        fn from(e: types::PluginError) -> Self {
            use types::PluginError as P;
            // Plugin text reaches terminals and logs: no control characters.
            let c = |m: String| super::super::runtime::clean(&m, 4_000);
            match e {
                P::InvalidInput(m) => host::PluginError::InvalidInput(c(m)),
                P::Unauthorized(m) => host::PluginError::Unauthorized(c(m)),
                P::RateLimited(r) => host::PluginError::RateLimited(host::RateLimit {
                    retry_after_seconds: r.retry_after_seconds,
                    message: c(r.message),
                }),
                P::NotFound(m) => host::PluginError::NotFound(c(m)),
                P::Unavailable(m) => host::PluginError::Unavailable(c(m)),
                P::BadResponse(m) => host::PluginError::BadResponse(c(m)),
                P::Http(m) => host::PluginError::Http(c(m)),
                P::Other(m) => host::PluginError::Other(c(m)),
            }
        }
    }

    impl From<source_api::Info> for host::SourceInfo {
        fn from(i: source_api::Info) -> Self {
            host::SourceInfo {
                platform: i.platform,
                collections: i.collections.into_iter().map(Into::into).collect(),
                credentials: i.credentials,
                unsupported: i
                    .unsupported
                    .into_iter()
                    .map(|u| host::UnsupportedCheck {
                        rule: u.rule,
                        reason: u.reason,
                    })
                    .collect(),
            }
        }
    }

    impl From<source_api::Post> for host::Post {
        fn from(p: source_api::Post) -> Self {
            host::Post {
                id: p.id,
                url: p.url,
            }
        }
    }

    impl From<&host::Post> for source_api::Post {
        fn from(p: &host::Post) -> Self {
            source_api::Post {
                id: p.id.clone(),
                url: p.url.clone(),
            }
        }
    }

    /// A WIT entry as an engine entry in `collection`.
    pub(crate) fn entry_to_engine(e: types::Entry, collection: host::Collection) -> OwnedEntry {
        Entry {
            platform: Cow::Owned(e.platform),
            user_id: Cow::Owned(e.user_id),
            handle: Cow::Owned(e.handle),
            display_name: Cow::Owned(e.display_name),
            text: Cow::Owned(e.text),
            created_at: Cow::Owned(e.created_at),
            collection: Some(Cow::Borrowed(collection.name())),
            followers: e.followers,
            account_created_at: e.account_created_at.map(Cow::Owned),
        }
    }

    /// Engine entries as the `entry-batch` a filter receives (its layout is
    /// documented in the WIT). `None` when the strings exceed the 4 GiB a
    /// `u32` offset can address.
    pub(crate) fn entry_batch(entries: &[OwnedEntry]) -> Option<types::EntryBatch> {
        /// `known` bits.
        const FOLLOWERS: u8 = 1;
        const ACCOUNT_CREATED_AT: u8 = 2;
        let size = entries.iter().fold(0, |n: usize, e| {
            n + e.platform.len()
                + e.user_id.len()
                + e.handle.len()
                + e.display_name.len()
                + e.text.len()
                + e.created_at.len()
                + e.account_created_at.as_deref().map_or(0, str::len)
        });
        let mut batch = types::EntryBatch {
            strings: String::with_capacity(size),
            ends: Vec::with_capacity(entries.len() * 7),
            followers: Vec::with_capacity(entries.len()),
            known: Vec::with_capacity(entries.len()),
        };
        for e in entries {
            for s in [
                &*e.platform,
                &e.user_id,
                &e.handle,
                &e.display_name,
                &e.text,
                &e.created_at,
                e.account_created_at.as_deref().unwrap_or(""),
            ] {
                batch.strings.push_str(s);
                batch.ends.push(u32::try_from(batch.strings.len()).ok()?);
            }
            batch.followers.push(e.followers.unwrap_or(0));
            batch.known.push(
                if e.followers.is_some() { FOLLOWERS } else { 0 }
                    | if e.account_created_at.is_some() {
                        ACCOUNT_CREATED_AT
                    } else {
                        0
                    },
            );
        }
        Some(batch)
    }

    impl From<filter_api::Verdict> for host::Verdict {
        fn from(v: filter_api::Verdict) -> Self {
            match v {
                filter_api::Verdict::Keep => host::Verdict::Keep,
                filter_api::Verdict::Exclude(r) => host::Verdict::Exclude(r),
            }
        }
    }

    impl From<beacon_api::BeaconRound> for host::BeaconRound {
        fn from(r: beacon_api::BeaconRound) -> Self {
            host::BeaconRound {
                chain: r.chain,
                round: r.round,
                signature: r.signature,
                previous_signature: r.previous_signature,
            }
        }
    }

    impl From<log::Level> for host::LogLevel {
        fn from(l: log::Level) -> Self {
            match l {
                log::Level::Trace => host::LogLevel::Trace,
                log::Level::Debug => host::LogLevel::Debug,
                log::Level::Info => host::LogLevel::Info,
                log::Level::Warn => host::LogLevel::Warn,
                log::Level::Error => host::LogLevel::Error,
            }
        }
    }

    impl From<super::super::http::HttpError> for http::HttpError {
        fn from(e: super::super::http::HttpError) -> Self {
            use super::super::http::HttpError as H;
            match e {
                H::Denied(r) => http::HttpError::Denied(r),
                H::Timeout => http::HttpError::Timeout,
                H::TooLarge(n) => http::HttpError::TooLarge(n),
                H::TooManyRequests(n) => http::HttpError::TooManyRequests(n),
                H::Transport(m) => http::HttpError::Transport(m),
            }
        }
    }
}
