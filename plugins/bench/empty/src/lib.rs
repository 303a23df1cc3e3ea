//! Benchmark plugin: the smallest component the host can load and call.
//!
//! It is a valid `filter-plugin` (its `check` keeps every entry and ignores
//! the configuration), so the runtime loads it like any filter, and it also
//! exports a root function `empty: func()` that does nothing. The host's
//! benchmarks (`host/runtime/benches/plugins.rs`) time instantiation and calls with
//! it: whatever they measure is the host's cost, not the plugin's work.
//!
//! It uses wit-bindgen directly rather than the SDK, because the SDK's export
//! macros generate exactly one world and this one adds the `empty` export.

#[cfg(target_arch = "wasm32")]
#[allow(
    unsafe_code,
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all
)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/v0.1",
        inline: "
            package fairdraw:bench;

            world empty {
                include fairdraw:plugin/filter-plugin@0.1.0;
                export empty: func();
            }
        ",
        world: "fairdraw:bench/empty",
        generate_all,
    });

    use exports::fairdraw::plugin::filter::{
        EntryBatch, Guest as FilterGuest, PluginError, Verdict,
    };

    struct Empty;

    impl Guest for Empty {
        fn empty() {}
    }

    impl FilterGuest for Empty {
        fn check(batch: EntryBatch, _config: String) -> Result<Vec<Verdict>, PluginError> {
            Ok(batch.known.iter().map(|_| Verdict::Keep).collect())
        }
    }

    export!(Empty);
}
