// The verifier's Web Worker. build.mjs appends this file to wasm-bindgen's
// `--target no-modules` glue (which defines `wasm_bindgen`), so it is one
// classic script that runs from a URL (importScripts) or inline from a Blob
// (the self-contained verify page opened from file://).
//
// Messages in:  {id, op: "init", wasm: URL string | ArrayBuffer}
//               {id, op: "load", url} | {id, op: "load", bytes: ArrayBuffer}
//               {id, op: "verify", options: {public_key?, keys_document?, keys_source?, lock_hash?}}
//               {id, op: "prove", entrant}
// Messages out: {id, progress: {phase, ...}} while working, then
//               {id, result} or {id, error}.
//
// The engine's verify_bundle has no progress hook, so progress is reported
// per phase (fetching with byte counts, parsed, verifying, done), not per
// verification step; the report lists every step once the call returns.
/* global wasm_bindgen */
"use strict";

let ready = null;
let bundle = null;
const MAX_BUNDLE_BYTES = 2 * 1024 * 1024 * 1024;

function progress(id, phase, extra) {
  self.postMessage({ id, progress: Object.assign({ phase }, extra || {}) });
}

async function fetchBundle(id, url) {
  const res = await fetch(url, { credentials: "omit" });
  if (!res.ok) {
    let text = "";
    try { text = (await res.text()).slice(0, 300); } catch (_) { /* body unreadable */ }
    throw new Error(`${url} answered ${res.status}${text ? ": " + text : ""}`);
  }
  const total = Number(res.headers.get("content-length")) || 0;
  if (total > MAX_BUNDLE_BYTES) throw new Error(`the bundle is ${total} bytes, more than this verifier reads (${MAX_BUNDLE_BYTES})`);
  if (!res.body || !res.body.getReader) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    if (received > MAX_BUNDLE_BYTES) throw new Error(`the bundle is more than ${MAX_BUNDLE_BYTES} bytes`);
    if (received - last > 1 << 20) { last = received; progress(id, "fetching", { received, total }); }
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

async function handle(msg) {
  const { id, op } = msg;
  switch (op) {
    case "init": {
      if (!ready) {
        const input = typeof msg.wasm === "string" ? msg.wasm : new Uint8Array(msg.wasm);
        ready = wasm_bindgen({ module_or_path: input });
      }
      await ready;
      return { ready: true };
    }
    case "load": {
      await ready;
      progress(id, "fetching", { received: 0, total: 0 });
      bundle = msg.bytes ? new Uint8Array(msg.bytes) : await fetchBundle(id, msg.url);
      progress(id, "parsed", { bytes: bundle.length });
      return JSON.parse(wasm_bindgen.inspect(bundle));
    }
    case "verify": {
      await ready;
      if (!bundle) throw new Error("no bundle loaded");
      progress(id, "verifying", { bytes: bundle.length });
      const t0 = performance.now();
      const result = JSON.parse(wasm_bindgen.verify(bundle, JSON.stringify(msg.options || {})));
      result.millis = performance.now() - t0;
      progress(id, "done");
      return result;
    }
    case "prove": {
      await ready;
      if (!bundle) throw new Error("no bundle loaded");
      return JSON.parse(wasm_bindgen.prove(bundle, String(msg.entrant || "")));
    }
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

self.onmessage = (ev) => {
  const msg = ev.data || {};
  handle(msg).then(
    (result) => self.postMessage({ id: msg.id, result }),
    (e) => self.postMessage({ id: msg.id, error: String((e && e.message) || e) }),
  );
};
