// Assembles web-widget/dist from wasm-bindgen's output (build.sh runs it):
//
//   fairdraw.<hash>.wasm          the verifier (fairdraw-web)
//   fairdraw-worker.<hash>.js     wasm-bindgen's no-modules glue + js/worker.js
//   fairdraw.<hash>.js            the <fairdraw-draw> module (js/fairdraw.js)
//   fairdraw.js                   the same module under its stable name (the embed snippet)
//   verify.html                   the standalone verify page, self-contained: the
//                                 module, the worker and the wasm (base64) inline,
//                                 so it works saved to disk and opened from file://
//   results.html                  the results page template `fairdraw serve` fills
//   manifest.json                 what the server serves under /widget/ and the sizes
//
// Usage: node build.mjs BINDGEN_DIR OUT_DIR
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const [bindgenDir, outDir] = process.argv.slice(2);
if (!bindgenDir || !outDir) {
  console.error("usage: node build.mjs BINDGEN_DIR OUT_DIR");
  process.exit(2);
}

const read = (p) => readFileSync(p);
const hash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);
const named = (stem, ext, bytes) => `${stem}.${hash(bytes)}.${ext}`;

const wasm = read(join(bindgenDir, "fairdraw_web_bg.wasm"));
const glue = read(join(bindgenDir, "fairdraw_web.js"), "utf8").toString();
const workerSrc = read(join(here, "js", "worker.js")).toString();
const elementSrc = read(join(here, "js", "fairdraw.js")).toString();

const worker = Buffer.from(`${glue}\n${workerSrc}`);
const wasmName = named("fairdraw", "wasm", wasm);
const workerName = named("fairdraw-worker", "js", worker);
const replaceOnce = (s, from, to) => {
  if (!s.includes(from)) throw new Error(`build.mjs: ${from} not found`);
  return s.split(from).join(to);
};
let element = replaceOnce(elementSrc, "__FAIRDRAW_WORKER__", workerName);
element = replaceOnce(element, "__FAIRDRAW_WASM__", wasmName);
const elementBytes = Buffer.from(element);
const elementName = named("fairdraw", "js", elementBytes);

// Text placed inside <script>: nothing in it may close the element. In JS
// strings, comments and regular expressions `<\/script` and `<\!--` mean the
// same as the unescaped text.
const scriptSafe = (s) => s.replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
const jsonInScript = (v) => JSON.stringify(v).replace(/</g, "\\u003c");

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const write = (name, bytes) => writeFileSync(join(outDir, name), bytes);
write(wasmName, wasm);
write(workerName, worker);
write(elementName, elementBytes);
write("fairdraw.js", elementBytes);

const pages = join(here, "pages");
const inline = `<script>globalThis.FAIRDRAW_INLINE = {worker: ${jsonInScript(worker.toString())}, wasm: ${jsonInScript(wasm.toString("base64"))}};</script>
<script type="module">${scriptSafe(element)}</script>`;
const verify = replaceOnce(read(join(pages, "verify.html")).toString(), "<!--FAIRDRAW_INLINE-->", inline);
write("verify.html", verify);
const results = replaceOnce(read(join(pages, "results.html")).toString(), "__FAIRDRAW_SCRIPT__", `/widget/${elementName}`);
write("results.html", results);

const gz = (b) => gzipSync(b, { level: 9 }).length;
const manifest = {
  format: 1,
  entry: "fairdraw.js",
  element: elementName,
  worker: workerName,
  wasm: wasmName,
  // Served under /widget/ with `immutable` caching (content-hashed names).
  immutable: [elementName, workerName, wasmName],
  sizes: {
    wasm: { bytes: wasm.length, gzip: gz(wasm) },
    worker: { bytes: worker.length, gzip: gz(worker) },
    element: { bytes: elementBytes.length, gzip: gz(elementBytes) },
    verify_html: { bytes: Buffer.byteLength(verify), gzip: gz(Buffer.from(verify)) },
  },
};
manifest.sizes.total_gzip = manifest.sizes.wasm.gzip + manifest.sizes.worker.gzip + manifest.sizes.element.gzip;
write("manifest.json", JSON.stringify(manifest, null, 2) + "\n");
console.log(`web-widget/dist: ${readdirSync(outDir).join(", ")}`);
console.log(`script + worker + wasm: ${manifest.sizes.total_gzip} bytes gzip (wasm ${manifest.sizes.wasm.gzip})`);
