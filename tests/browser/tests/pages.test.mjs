// The pages `fairdraw serve` serves, against a real `fairdraw serve --dev
// --demo`: the demo's results page (and its printed certificate), the widget
// files' headers, the verify page (served, and saved to disk and opened from
// file://), and a live draw that executes while its page is open.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { dist, fixtures, launch, makeBundles, partText, shots, startServe, waitState } from "../lib.mjs";

let browser;
let serve;
let b;

before(async () => {
  b = makeBundles();
  serve = await startServe();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await serve?.stop();
});

test("make run's results page: the demo draw verifies against the host's keys; the certificate prints", async () => {
  assert.equal(serve.results, `${serve.base}/d/${serve.draw}`);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(serve.results);
  assert.equal(await waitState(page, ["verified", "invalid", "error"]), "verified");
  assert.equal(await page.getAttribute("fairdraw-draw", "attributed"), "true");
  assert.match(await partText(page, "trust"), /host's published keys/);
  assert.match(await partText(page, "counts"), /fairdraw demo/);
  await page.evaluate(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="show-all"]')?.click());
  await page.screenshot({ path: join(shots, "results-page.png"), fullPage: true });
  await page.emulateMedia({ media: "print" });
  assert.ok(await page.locator("#certificate").isVisible(), "the certificate shows in print");
  assert.ok(!(await page.locator("fairdraw-draw").isVisible()), "the widget is hidden in print");
  const cert = await page.locator("#certificate").textContent();
  const summary = await (await fetch(`${serve.base}/v1/public/draws/${serve.draw}`)).json();
  assert.ok(cert.includes(summary.lock_hash), "lock hash on the certificate");
  const bundle = Buffer.from(await (await fetch(`${serve.base}/v1/public/draws/${serve.draw}/bundle`)).arrayBuffer());
  const { createHash } = await import("node:crypto");
  assert.ok(cert.includes(createHash("sha256").update(bundle).digest("hex")), "bundle SHA-256 on the certificate");
  assert.match(cert, /Winners1\. @/);
  await page.screenshot({ path: join(shots, "certificate-print.png"), fullPage: true });
  await page.pdf({ path: join(shots, "certificate.pdf") });
  assert.deepEqual(errors, []);
  await context.close();
});

test("/widget/ files: content-hashed names immutable, the entry script short-lived, CORS for every site", async () => {
  const manifest = JSON.parse(readFileSync(join(dist, "manifest.json"), "utf8"));
  for (const name of manifest.immutable) {
    const r = await fetch(`${serve.base}/widget/${name}`);
    assert.equal(r.status, 200, name);
    assert.equal(r.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
  }
  const entry = await fetch(`${serve.base}/widget/fairdraw.js`);
  assert.equal(entry.status, 200);
  assert.equal(entry.headers.get("cache-control"), "public, max-age=300");
  assert.match(entry.headers.get("content-type"), /javascript/);
  assert.equal((await fetch(`${serve.base}/widget/${manifest.wasm}`)).headers.get("content-type"), "application/wasm");
  assert.equal((await fetch(`${serve.base}/widget/manifest.json`)).status, 404);
  assert.equal((await fetch(`${serve.base}/widget/..%2FCargo.toml`)).status, 404);
  const pub = await fetch(`${serve.base}/v1/public/draws/${serve.draw}`);
  assert.equal(pub.headers.get("access-control-allow-origin"), "*", "the public API is readable from other sites");
  const missing = await fetch(`${serve.base}/d/no-such-draw`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /not found/);
});

async function verifyPage(url, label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  // A dropped/chosen file, with the organiser's key pinned.
  await page.getByLabel(/published public key/).fill(b.publicKey);
  await page.getByLabel(/lock hash published/).fill(b.lockHash);
  await page.setInputFiles("#file", join(b.dir, "valid.json"));
  assert.equal(await waitState(page, ["verified", "invalid", "error"], "#report"), "verified", label);
  assert.equal(await page.getAttribute("#report", "attributed"), "true");
  await page.screenshot({ path: join(shots, `verify-page-${label}.png`), fullPage: true });
  // Pasted JSON of a tampered bundle.
  await page.getByLabel(/paste its JSON/).fill(readFileSync(join(b.dir, "corrupted-beacon.json"), "utf8"));
  await page.getByRole("button", { name: "Verify the pasted JSON" }).click();
  assert.equal(await waitState(page, ["invalid", "error"], "#report"), "invalid", label);
  assert.equal(await page.getAttribute("#report", "failed-step"), "randomness");
  // The entry check on the loaded bundle.
  await page.locator("#report").getByLabel(/Check my entry/).fill("@spammer");
  await page.locator("#report").getByRole("button", { name: "Check" }).click();
  await page.waitForFunction(() => document.querySelector("#report").shadowRoot.querySelector('[part~="entry-result"]').dataset.status === "excluded");
  assert.deepEqual(errors, [], label);
  await context.close();
}

test("/verify: drop a file, paste JSON, check an entry", async () => {
  await verifyPage(`${serve.base}/verify`, "served");
});

test("/verify saved to disk works from file:// with no server", async () => {
  const html = await (await fetch(`${serve.base}/verify`)).text();
  const saved = join(b.dir, "saved-verify.html");
  writeFileSync(saved, html);
  await verifyPage(`file://${saved}`, "file");
});

test("live: a draw executed while its page is open is revealed and verified without a reload", async () => {
  const api = (path, init = {}) => fetch(`${serve.base}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${serve.apiKey}`, ...(init.headers || {}) },
  }).then(async (r) => {
    const body = await r.text();
    if (!r.ok) throw new Error(`${path}: ${r.status} ${body}`);
    return body ? JSON.parse(body) : null;
  });
  const rules = JSON.parse(readFileSync(join(fixtures, "rules.json"), "utf8"));
  const draw = await api("/v1/draws", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title: "Live giveaway", randomness: "secret", rules }),
  });
  await api(`/v1/draws/${draw.id}/entries?collection=comments`, {
    method: "POST", headers: { "Content-Type": "application/jsonl" }, body: readFileSync(join(fixtures, "comments.jsonl")),
  });
  await api(`/v1/draws/${draw.id}/entries?collection=likes`, {
    method: "POST", headers: { "Content-Type": "text/csv" }, body: readFileSync(join(fixtures, "likes.csv")),
  });
  const lock = await api(`/v1/draws/${draw.id}/lock`, { method: "POST" });

  const context = await browser.newContext();
  const page = await context.newPage();
  // The results page. It learns of the execution from the draw's event
  // stream: polling is slowed to a minute, beyond the wait below.
  await page.goto(`${serve.base}/d/${draw.id}`);
  await page.evaluate(() => document.querySelector("fairdraw-draw").setAttribute("poll-interval", "60"));
  assert.equal(await waitState(page, ["locked", "verified", "error"]), "locked");
  assert.match(await partText(page, "lock"), new RegExp(lock.lock_hash));
  // The entry check works on the lock file while locked.
  await page.locator("fairdraw-draw").getByLabel(/Check my entry/).fill("@bea");
  await page.locator("fairdraw-draw").getByRole("button", { name: "Check" }).click();
  await page.waitForFunction(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="entry-result"]').dataset.status === "eligible");
  await page.screenshot({ path: join(shots, "results-page-locked.png"), fullPage: true });
  const navigations = [];
  page.on("framenavigated", (f) => navigations.push(f.url()));

  const winnersEvent = page.evaluate(() => new Promise((r) => document.querySelector("fairdraw-draw")
    .addEventListener("fairdraw:winners", (e) => r(e.detail.winners.map((w) => w.entry.handle)))));
  const executed = await api(`/v1/draws/${draw.id}/execute`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  const t = Date.now();
  assert.equal(await waitState(page, ["verified", "invalid", "error"], "fairdraw-draw", 20000), "verified");
  console.log(`execute to verified in the open page (event stream, verification included): ${Date.now() - t} ms`);
  assert.deepEqual(await winnersEvent, executed.winners.map((w) => w.entry.handle));
  assert.deepEqual(navigations, [], "no reload");
  await context.close();
});
