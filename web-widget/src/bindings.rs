//! The functions JavaScript calls (wasm-bindgen exports). Each one only
//! hands bytes and strings to the crate's functions: no logic lives here.

// wasm-bindgen's generated glue uses `unsafe` internally.
#![allow(unsafe_code)]

use wasm_bindgen::prelude::wasm_bindgen;

/// Verifies a proof bundle; `options` is the JSON of `VerifyOptions`.
/// Returns the JSON of `Verification`.
#[wasm_bindgen]
pub fn verify(bundle: &[u8], options: &str) -> String {
    crate::verify_json(bundle, options)
}

/// Looks an entrant up by handle or user id; returns the JSON of the
/// engine's `EntrantProof` (or `{"status":"error"}`).
#[wasm_bindgen]
pub fn prove(bundle: &[u8], entrant: &str) -> String {
    crate::prove_json(bundle, entrant)
}

/// What the bundle says about itself, before verification (JSON).
#[wasm_bindgen]
pub fn inspect(bundle: &[u8]) -> String {
    crate::inspect_json(bundle)
}
