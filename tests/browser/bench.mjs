// The widget's budgets in Chromium (scripts/bench-widget.sh runs this; it is
// a measurement, never part of `make test`).
//
//   node bench.mjs BUNDLE_10K BUNDLE_1M RUNS
//
// Prints JSON: for each bundle, the medians over RUNS fresh browser contexts
// (cold caches: wasm compiled each time) of
//   total_ms:  navigation start → the element's state is `verified` and every
//              winner is rendered (fetch + verify + render; reduced motion,
//              so the reveal animation is not counted),
//   verify_ms: the wasm `verify` call alone, inside the worker.
import { dirname, join } from "node:path";
import { launch, startSite } from "./lib.mjs";

const [b10k, b1m, runsArg] = process.argv.slice(2);
const runs = Number(runsArg) || 5;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(browser, site, file, n) {
  const total = [];
  const verify = [];
  for (let i = 0; i < n; i++) {
    const context = await browser.newContext({ reducedMotion: "reduce" });
    const page = await context.newPage();
    await page.goto(`${site.base}/page?${new URLSearchParams({ "a.src": `/b/${file}`, "a.loading": "eager" })}`);
    await page.waitForFunction(() => {
      const el = document.querySelector("fairdraw-draw");
      const s = el && el.getAttribute("state");
      if (s === "invalid" || s === "error") throw new Error(`state ${s}`);
      return s === "verified" && el.shadowRoot.querySelectorAll('[part~="winner"]').length > 0;
    }, null, { timeout: 600000, polling: 5 });
    const t = await page.evaluate(() => ({
      total: performance.now(),
      verify: document.querySelector("fairdraw-draw").verification.millis,
    }));
    total.push(t.total);
    verify.push(t.verify);
    await context.close();
  }
  return { runs: n, total_ms: Math.round(median(total)), verify_ms: Math.round(median(verify)), all_total_ms: total.map(Math.round) };
}

const browser = await launch();
const out = {};
for (const [label, path, n] of [["10k", b10k, runs], ["1M", b1m, Math.min(runs, 3)]]) {
  if (!path) continue;
  const site = await startSite(dirname(path));
  out[label] = await measure(browser, site, path.slice(dirname(path).length + 1), n);
  await site.close();
}
await browser.close();
console.log(JSON.stringify(out));
void join;
