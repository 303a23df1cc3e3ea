// The wasm verifier in Chromium and the native `fairdraw verify --json` agree
// step by step (status and detail), on random draws made by the CLI and on
// tampered bundles.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { cli, launch, makeBundles, startSite, waitState } from "../lib.mjs";

let browser;
let site;
let b;
const files = [];

// A small deterministic generator (mulberry32), so a failure reproduces.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomDraw(dir, seed) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const n = 20 + Math.floor(r() * 200);
  const users = Math.max(8, Math.floor(n * (0.5 + r() * 0.5)));
  const lines = [];
  for (let i = 0; i < n; i++) {
    const u = Math.floor(r() * users);
    const mentions = Array.from({ length: Math.floor(r() * 4) }, () => `@user${Math.floor(r() * users)}`).join(" ");
    const text = `${pick(["#giveaway", "#GiveAway", "#ｇｉｖｅａｗａｙ", "nice", "¡quiero! #giveaway", "抽選 #giveaway 🎉"])} ${mentions}`;
    const day = 10 + Math.floor(r() * 12);
    lines.push(JSON.stringify({
      platform: pick(["youtube", "instagram"]), user_id: `U${u}`, handle: `@user${u}`, display_name: `User ${u}`, text,
      created_at: `2023-01-${String(day).padStart(2, "0")}T12:00:00Z`, followers: Math.floor(r() * 300),
      account_created_at: "2022-06-01T00:00:00Z",
    }));
  }
  const rules = { winners: 1 + Math.floor(r() * 3), alternates: Math.floor(r() * 3) };
  if (r() < 0.6) rules.keywords = { any: ["#giveaway"] };
  if (r() < 0.5) rules.min_mentions = 1;
  if (r() < 0.4) rules.min_followers = 20;
  if (r() < 0.4) rules.window = { from: "2023-01-11T00:00:00Z", until: "2023-01-20T00:00:00Z" };
  if (r() < 0.4) rules.bonus = { per_extra_mention: 1, max: 2 };
  if (r() < 0.3) rules.entries_per_user = 2;
  const entries = join(dir, `random-${seed}.jsonl`);
  const rulesFile = join(dir, `random-${seed}.rules.json`);
  writeFileSync(entries, lines.join("\n") + "\n");
  writeFileSync(rulesFile, JSON.stringify(rules));
  const out = join(dir, `random-${seed}.json`);
  const res = cli(["draw", "--entries", entries, "--rules", rulesFile, "--key", join(dir, "key.json"), "--title", `Random ${seed}`,
    "--id", `random-${seed}`, "--at", "2023-02-01T00:00:00Z", "--out", out]);
  return res.code === 0 ? `random-${seed}.json` : null;
}

before(async () => {
  b = makeBundles();
  for (let seed = 1; files.length < 6 && seed < 40; seed++) {
    const f = randomDraw(b.dir, seed);
    if (f) files.push(f);
  }
  files.push("valid.json", ...b.cases.map((c) => `${c.name}.json`));
  site = await startSite(b.dir);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await site?.close();
});

test("native and wasm reports agree step by step", async () => {
  assert.ok(files.length >= 12, `random draws made: ${files.join(", ")}`);
  const context = await browser.newContext();
  const page = await context.newPage();
  let failures = 0;
  for (const file of files) {
    const native = cli(["verify", join(b.dir, file), "--key", b.publicKey, "--json"]);
    assert.ok(native.code === 0 || native.code === 1, `${file}: ${native.stderr}`);
    const expected = JSON.parse(native.stdout);
    const q = new URLSearchParams({ "a.src": `/b/${file}`, "a.key": b.publicKey, "a.loading": "eager" });
    await page.goto(`${site.base}/page?${q}`);
    const state = await waitState(page, ["verified", "invalid", "error"]);
    const got = await page.evaluate(() => document.querySelector("fairdraw-draw").verification.report);
    assert.deepEqual(got.steps, expected.steps, `${file}: steps differ`);
    assert.deepEqual(got.winners, expected.winners, `${file}: winners differ`);
    assert.deepEqual(got.alternates, expected.alternates, `${file}: alternates differ`);
    assert.equal(got.lock_hash, expected.lock_hash);
    assert.equal(state, native.code === 0 ? "verified" : "invalid", file);
    if (native.code !== 0) failures++;
  }
  assert.equal(failures, b.cases.length, "exactly the tampered bundles fail");
  await context.close();
});
