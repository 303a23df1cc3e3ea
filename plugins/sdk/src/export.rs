//! The export macros: one per world.
//!
//! Each expands, in a component build, to the wit-bindgen bindings of its
//! world in the plugin's crate plus a bridge from the generated `Guest`
//! trait to the SDK trait; natively it only checks that the type implements
//! the trait. The plugin crate must depend on the SDK under its own name,
//! `fairdraw_plugin_sdk` (the generated code names it).

/// Exports a [`Source`](crate::Source) implementation as the component's
/// `fairdraw:plugin/source` interface (world `source-plugin`). Use it once,
/// at the crate root:
///
/// ```
/// use fairdraw_plugin_sdk::{Collection, Info, Page, PluginError, Post, Source};
///
/// pub struct Example;
///
/// impl Source for Example {
///     fn describe() -> Info {
///         Info::new("example")
///     }
///     fn parse_url(url: &str) -> Result<Post, PluginError> {
///         Ok(Post { id: url.rsplit('/').next().unwrap_or_default().into(), url: url.into() })
///     }
///     fn fetch_page(_: &Post, _: Collection, _: Option<&str>) -> Result<Page, PluginError> {
///         Ok(Page::last(Vec::new()))
///     }
/// }
///
/// fairdraw_plugin_sdk::export_source!(Example);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_source {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(
            unsafe_code,
            missing_docs,
            missing_debug_implementations,
            unused_qualifications,
            unused_imports,
            clippy::all
        )]
        mod __fairdraw_source_export {
            use super::*;

            $crate::__fairdraw_source_world!();

            use self::exports::fairdraw::plugin::source as __wit;

            struct __FairdrawBridge;

            impl __wit::Guest for __FairdrawBridge {
                fn describe() -> __wit::Info {
                    let info = <$ty as $crate::Source>::describe();
                    __wit::Info {
                        platform: info.platform,
                        collections: info.collections.into_iter().map(::core::convert::Into::into).collect(),
                        credentials: info.credentials,
                        unsupported: info
                            .unsupported
                            .into_iter()
                            .map(|u| __wit::UnsupportedCheck { rule: u.rule, reason: u.reason })
                            .collect(),
                    }
                }

                fn parse_url(
                    url: ::std::string::String,
                ) -> ::core::result::Result<__wit::Post, __wit::PluginError> {
                    <$ty as $crate::Source>::parse_url(&url)
                        .map(|p| __wit::Post { id: p.id, url: p.url })
                        .map_err(::core::convert::Into::into)
                }

                fn fetch_page(
                    post: __wit::Post,
                    collection: __wit::Collection,
                    cursor: ::core::option::Option<::std::string::String>,
                ) -> ::core::result::Result<__wit::Page, __wit::PluginError> {
                    let post = $crate::Post { id: post.id, url: post.url };
                    <$ty as $crate::Source>::fetch_page(&post, collection.into(), cursor.as_deref())
                        .map(|page| __wit::Page {
                            entries: page.entries.into_iter().map(::core::convert::Into::into).collect(),
                            next_cursor: page.next_cursor,
                            total_hint: page.total_hint,
                        })
                        .map_err(::core::convert::Into::into)
                }
            }

            export!(__FairdrawBridge with_types_in self);
        }

        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = $crate::__private::assert_source::<$ty>;
    };
}

/// Exports a [`Filter`](crate::Filter) implementation as the component's
/// `fairdraw:plugin/filter` interface (world `filter-plugin`, no network).
/// Use it once, at the crate root:
///
/// ```
/// use fairdraw_plugin_sdk::{EntryRef, Filter, Verdict};
///
/// pub struct NoBots;
///
/// impl Filter for NoBots {
///     type Config = ();
///     fn verdict(entry: &EntryRef<'_>, _: &()) -> Verdict {
///         if entry.handle.ends_with("bot") {
///             Verdict::Exclude("looks like a bot".into())
///         } else {
///             Verdict::Keep
///         }
///     }
/// }
///
/// fairdraw_plugin_sdk::export_filter!(NoBots);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_filter {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(
            unsafe_code,
            missing_docs,
            missing_debug_implementations,
            unused_qualifications,
            unused_imports,
            clippy::all
        )]
        mod __fairdraw_filter_export {
            use super::*;

            $crate::__fairdraw_filter_world!();

            use self::exports::fairdraw::plugin::filter as __wit;

            struct __FairdrawBridge;

            impl __wit::Guest for __FairdrawBridge {
                fn check(
                    batch: __wit::EntryBatch,
                    config: ::std::string::String,
                ) -> ::core::result::Result<::std::vec::Vec<__wit::Verdict>, __wit::PluginError> {
                    $crate::__private::unpack_batch(&batch)
                        .and_then(|entries| $crate::__private::run_filter::<$ty>(&entries, &config))
                        .map(|verdicts| {
                            verdicts
                                .into_iter()
                                .map(|v| match v {
                                    $crate::Verdict::Keep => __wit::Verdict::Keep,
                                    $crate::Verdict::Exclude(reason) => __wit::Verdict::Exclude(reason),
                                })
                                .collect()
                        })
                        .map_err(::core::convert::Into::into)
                }
            }

            export!(__FairdrawBridge with_types_in self);
        }

        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = $crate::__private::assert_filter::<$ty>;
    };
}

/// Exports a [`Beacon`](crate::Beacon) implementation as the component's
/// `fairdraw:plugin/beacon` interface (world `beacon-plugin`). Use it once,
/// at the crate root:
///
/// ```
/// use fairdraw_plugin_sdk::{Beacon, BeaconRound, PluginError};
///
/// pub struct Fixed;
///
/// impl Beacon for Fixed {
///     fn fetch(chain: &str, round: Option<u64>) -> Result<BeaconRound, PluginError> {
///         Ok(BeaconRound {
///             chain: chain.into(),
///             round: round.unwrap_or(1),
///             signature: "00".into(),
///             previous_signature: None,
///         })
///     }
/// }
///
/// fairdraw_plugin_sdk::export_beacon!(Fixed);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_beacon {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(
            unsafe_code,
            missing_docs,
            missing_debug_implementations,
            unused_qualifications,
            unused_imports,
            clippy::all
        )]
        mod __fairdraw_beacon_export {
            use super::*;

            $crate::__fairdraw_beacon_world!();

            use self::exports::fairdraw::plugin::beacon as __wit;

            struct __FairdrawBridge;

            impl __wit::Guest for __FairdrawBridge {
                fn fetch(
                    chain: ::std::string::String,
                    round: ::core::option::Option<u64>,
                ) -> ::core::result::Result<__wit::BeaconRound, __wit::PluginError> {
                    <$ty as $crate::Beacon>::fetch(&chain, round)
                        .map(|r| __wit::BeaconRound {
                            chain: r.chain,
                            round: r.round,
                            signature: r.signature,
                            previous_signature: r.previous_signature,
                        })
                        .map_err(::core::convert::Into::into)
                }
            }

            export!(__FairdrawBridge with_types_in self);
        }

        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = $crate::__private::assert_beacon::<$ty>;
    };
}
