// Shared set-up of the browser tests: the real `fairdraw` CLI makes the
// bundles, Debian's Chromium (never a downloaded browser) runs the widget,
// and a small static server stands in for a brand's site.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const fixtures = join(root, "tests/fixtures/giveaway");
export const dist = resolve(process.env.FAIRDRAW_WIDGET_DIST || join(root, "web-widget/dist"));
export const fairdraw = resolve(process.env.FAIRDRAW || join(root, "target/debug/fairdraw"));
export const tamperBin = resolve(process.env.FAIRDRAW_TAMPER || join(root, "target/debug/examples/tamper"));
export const shots = resolve(process.env.FAIRDRAW_SCREENSHOTS || join(root, "target/browser-screenshots"));
export const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

for (const [what, path] of [["the built widget (make widget)", join(dist, "manifest.json")], ["the fairdraw CLI", fairdraw], ["the tamper example", tamperBin], ["chromium", chromiumPath]]) {
  if (!existsSync(path)) throw new Error(`${what} is missing at ${path}: run \`make test-browser\`, which builds and installs it`);
}
mkdirSync(shots, { recursive: true });

/** Runs the CLI; returns {code, stdout, stderr}. */
export function cli(args, opts = {}) {
  const r = spawnSync(fairdraw, args, { encoding: "utf8", ...opts });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A drand draw of the sample giveaway, locked and executed offline with the
 * pinned real beacon (as scripts/demo.sh), plus its tampered copies. */
export function makeBundles() {
  const dir = mkdtempSync(join(tmpdir(), "fairdraw-browser-"));
  const run = (args) => {
    const r = cli(args, { cwd: dir });
    if (r.code !== 0) throw new Error(`fairdraw ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  run(["keygen", "--out", "key.json"]);
  const key = JSON.parse(readFileSync(join(dir, "key.json"), "utf8"));
  const locked = run(["lock", "--entries", join(fixtures, "comments.jsonl"), join(fixtures, "likes.csv"),
    "--rules", join(fixtures, "rules.json"), "--key", "key.json", "--randomness", "drand:default:2634945",
    "--at", "2023-01-23T13:00:00Z", "--title", "ACME new year giveaway", "--id", "acme-2023", "--out", "lock.json"]);
  const lockHash = /Lock hash:\s*([0-9a-f]{64})/.exec(locked)[1];
  run(["execute", "lock.json", "--key", "key.json", "--beacon", join(fixtures, "beacon-default-2634945.json"),
    "--at", "2023-01-23T13:10:00Z", "--out", "valid.json"]);
  execFileSync(tamperBin, [join(dir, "valid.json"), join(dir, "key.json"), dir]);
  const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
  return { dir, publicKey: key.public_key, lockHash, cases };
}

const TYPES = { ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".html": "text/html; charset=utf-8" };

/** A static server: /widget/* from the built widget, /b/* from `bundles`,
 * /page?… an embedding page (see `embedPage`). CORS like `fairdraw serve`. */
export async function startSite(bundles) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    let file = null;
    let body = null;
    if (url.pathname.startsWith("/widget/")) file = join(dist, url.pathname.slice(8).replace(/[/\\]/g, ""));
    else if (url.pathname.startsWith("/b/")) file = join(bundles, url.pathname.slice(3).replace(/[/\\]/g, ""));
    else if (url.pathname === "/page") body = embedPage(url.searchParams);
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (body !== null) {
      res.writeHead(200, { "Content-Type": TYPES[".html"] });
      return res.end(body);
    }
    if (!file || !existsSync(file)) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] || "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, close: () => new Promise((r) => server.close(r)) };
}

const escapeAttr = (s) => String(s).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** A brand's page embedding the widget with the one script tag. Query:
 * every `a.NAME=VALUE` becomes an attribute; `html_lang`; `reveal_ms`. */
function embedPage(q) {
  const attrs = [...q.entries()].filter(([k]) => k.startsWith("a.")).map(([k, v]) => ` ${k.slice(2)}="${escapeAttr(v)}"`).join("");
  const ms = q.get("reveal_ms") || "20";
  return `<!doctype html><html lang="${escapeAttr(q.get("html_lang") || "en")}"><head><meta charset="utf-8"><title>Embed test</title>
<script type="module" src="/widget/fairdraw.js"></script>
<style>body{font-family:sans-serif;margin:1rem;background:${q.get("bg") || "#fff"}} fairdraw-draw{--fairdraw-reveal-ms:${Number(ms)};max-width:44rem}</style></head>
<body><main><h1>Our giveaway</h1><fairdraw-draw id="w"${attrs}></fairdraw-draw></main></body></html>`;
}

export async function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}

/** Waits until the element's `state` is one of `states`; returns it. */
export async function waitState(page, states, selector = "fairdraw-draw", timeout = 60000) {
  const handle = await page.waitForFunction(
    ([sel, states]) => {
      const el = document.querySelector(sel);
      const s = el && el.getAttribute("state");
      return states.includes(s) ? s : null;
    },
    [selector, states],
    { timeout },
  );
  return handle.jsonValue();
}

/** Text of a shadow part of the element. */
export function partText(page, part, selector = "fairdraw-draw") {
  return page.evaluate(([sel, part]) => {
    const el = document.querySelector(sel);
    const n = el.shadowRoot.querySelector(`[part~="${part}"]`);
    return n ? n.textContent : null;
  }, [selector, part]);
}

/** Starts `fairdraw serve --dev --demo` on a free port over a fresh data
 * directory; resolves with its printed lines once it is listening. */
export async function startServe(extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), "fairdraw-serve-"));
  const env = { ...process.env, FAIRDRAW_RATE_PER_IP: "10000", FAIRDRAW_BURST_PER_IP: "10000", RUST_LOG: "warn" };
  delete env.DATABASE_URL;
  const child = spawn(fairdraw, ["serve", "--dev", "--demo", "--data-dir", data, "--listen", "127.0.0.1:0", "--widget-dir", dist, ...extraArgs], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const lines = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`fairdraw serve did not start: ${out}\n${err}`)), 60000);
    child.stdout.on("data", (d) => {
      out += d;
      if (/Try: curl/.test(out)) { clearTimeout(timer); resolvePromise(out.split("\n")); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`fairdraw serve exited ${code}: ${out}\n${err}`)); });
  });
  const after = (label) => {
    const l = lines.find((x) => x.includes(label));
    if (!l) throw new Error(`no "${label}" in ${out}`);
    return l.slice(l.indexOf(label) + label.length).trim().split(/\s+/)[0];
  };
  return {
    base: after("fairdraw serve listening on"),
    apiKey: after("API key:"),
    draw: after("Demo draw:"),
    results: after("Results page:"),
    stop: () => new Promise((r) => { child.removeAllListeners("exit"); child.on("exit", r); child.kill("SIGTERM"); }),
  };
}

export function copyTo(src, dir, name) {
  const to = join(dir, name);
  copyFileSync(src, to);
  return to;
}

export function writeJson(path, v) {
  writeFileSync(path, JSON.stringify(v));
}
