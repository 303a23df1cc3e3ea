// <fairdraw-draw> embedded with one script tag on a brand's page (a static
// server on another port than the bundles' host would be), in headless
// Chromium, on bundles made by the real CLI and tampered copies of them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launch, makeBundles, partText, shots, startSite, waitState } from "../lib.mjs";

let browser;
let site;
let b;

before(async () => {
  b = makeBundles();
  site = await startSite(b.dir);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await site?.close();
});

function pageUrl(attrs, extra = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(attrs)) q.set(`a.${k}`, v);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `${site.base}/page?${q}`;
}

async function open(attrs, extra = {}, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(pageUrl(attrs, extra));
  return { page, context, errors };
}

const valid = () => ({ src: "/b/valid.json", key: b.publicKey, "lock-hash": b.lockHash, loading: "eager" });

async function revealed(page) {
  return page.evaluate(() => {
    const r = document.querySelector("fairdraw-draw").shadowRoot;
    return {
      winners: [...r.querySelectorAll('[part~="winner"]')].map((n) => n.textContent),
      alternates: [...r.querySelectorAll('[part~="alternate"]')].map((n) => n.textContent),
    };
  });
}

describe("a transparency log policy", () => {
  test("a lock witnessed before its round is logged; after it, fails at the log step", async () => {
    const { page, context, errors } = await open({ src: "/b/logged.json", key: b.publicKey, policy: "/b/policy.json", loading: "eager" });
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "verified");
    assert.match(await partText(page, "trust"), /Logged: the page's trusted witnesses saw the lock at 2023-01-23T13:08:30Z/);
    assert.deepEqual(errors, []);
    await context.close();

    const late = await open({ src: "/b/logged-late.json", key: b.publicKey, policy: "/b/policy.json", loading: "eager" });
    assert.equal(await waitState(late.page, ["verified", "invalid", "error"]), "invalid");
    assert.match(await partText(late.page, "failure"), /Transparency log/);
    await late.context.close();

    // Asked for a policy it cannot read: never verified.
    const missing = await open({ src: "/b/logged.json", key: b.publicKey, policy: "/b/no-such-policy.json", loading: "eager" });
    assert.equal(await waitState(missing.page, ["verified", "invalid", "error"]), "invalid");
    await missing.context.close();
  });
});

describe("a valid bundle", () => {
  test("shows verified, the trusted key, the rules and the winners one by one", async () => {
    const { page, context, errors } = await open(valid(), { reveal_ms: 1000 });
    const winnersEvent = page.evaluate(() => new Promise((r) => document.querySelector("fairdraw-draw")
      .addEventListener("fairdraw:winners", (e) => r(e.detail.winners.map((w) => w.entry.handle)))));
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "verified");
    assert.match(await partText(page, "badge"), /Verified in your browser/);
    assert.equal(await page.getAttribute("fairdraw-draw", "attributed"), "true");
    assert.match(await partText(page, "trust"), /pinned by this page/);
    assert.match(await partText(page, "title"), /ACME new year giveaway/);
    assert.match(await partText(page, "rules"), /winners/);
    assert.match(await partText(page, "lock"), new RegExp(b.lockHash));
    // Revealed one by one: right after verification not all are shown.
    const early = await revealed(page);
    assert.ok(early.winners.length + early.alternates.length < 5, JSON.stringify(early));
    assert.deepEqual(await winnersEvent, ["@mallory", "@carol", "@zoe"]);
    const all = await revealed(page);
    assert.equal(all.winners.length, 3);
    assert.equal(all.alternates.length, 2);
    const steps = await page.evaluate(() => [...document.querySelector("fairdraw-draw").shadowRoot.querySelectorAll('[part~="step"]')]
      .map((n) => [n.dataset.step, n.dataset.status]));
    assert.equal(steps.length, 12);
    assert.ok(steps.some(([step]) => step === "log"), JSON.stringify(steps));
    assert.ok(steps.every(([, s]) => s === "passed"), JSON.stringify(steps));
    await page.screenshot({ path: join(shots, "widget-light.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("without a key it is self-consistent but not attributed, and never green", async () => {
    const { page, context } = await open({ src: "/b/valid.json", loading: "eager" });
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "verified");
    assert.equal(await page.getAttribute("fairdraw-draw", "attributed"), "false");
    assert.match(await partText(page, "badge"), /not attributed/);
    assert.equal(await page.evaluate(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="badge"]').dataset.kind), "unattributed");
    assert.match(await partText(page, "trust"), /No key was given/);
    await context.close();
  });

  test("reveal=manual waits for the user; show all reveals the rest", async () => {
    const { page, context } = await open({ ...valid(), reveal: "manual" });
    await waitState(page, ["verified"]);
    assert.equal((await revealed(page)).winners.length, 0);
    await page.locator("fairdraw-draw").getByRole("button", { name: "Reveal next" }).click();
    assert.equal((await revealed(page)).winners.length, 1);
    await page.locator("fairdraw-draw").getByRole("button", { name: "Show all" }).click();
    const all = await revealed(page);
    assert.equal(all.winners.length + all.alternates.length, 5);
    await context.close();
  });

  test("prefers-reduced-motion shows every winner at once", async () => {
    const { page, context } = await open(valid(), { reveal_ms: 5000 }, { reducedMotion: "reduce" });
    await waitState(page, ["verified"]);
    const all = await revealed(page);
    assert.equal(all.winners.length + all.alternates.length, 5);
    await context.close();
  });

  test("lazy: nothing is verified until the element is on screen", async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    await page.goto(`${site.base}/page?${new URLSearchParams({ "a.src": "/b/valid.json", "a.key": b.publicKey, "a.style": "margin-top:3000px" })}`);
    await page.waitForTimeout(500);
    assert.notEqual(await page.getAttribute("fairdraw-draw", "state"), "verified");
    await page.locator("fairdraw-draw").scrollIntoViewIfNeeded();
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "verified");
    await context.close();
  });
});

describe("tampered bundles are invalid and name the step", () => {
  for (const name of ["changed-winner", "removed-entry", "edited-rule", "another-key", "corrupted-beacon", "beacon-before-lock"]) {
    test(name, async () => {
      const expected = b.cases.find((c) => c.name === name).step;
      // The lock hash is not pinned here, so each attack reaches its own step.
      const { page, context } = await open({ src: `/b/${name}.json`, key: b.publicKey, loading: "eager" });
      const invalid = page.evaluate(() => new Promise((r) => document.querySelector("fairdraw-draw")
        .addEventListener("fairdraw:invalid", (e) => r(e.detail.step))));
      assert.equal(await waitState(page, ["verified", "invalid", "error"]), "invalid");
      assert.equal(await invalid, expected);
      assert.equal(await page.getAttribute("fairdraw-draw", "failed-step"), expected);
      assert.match(await partText(page, "badge"), /NOT verified/);
      assert.equal(await page.evaluate(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="badge"]').dataset.kind), "invalid");
      assert.ok((await partText(page, "failure")).length > 20);
      assert.deepEqual(await revealed(page), { winners: [], alternates: [] }, "no winners shown for an invalid bundle");
      if (name === "changed-winner") await page.screenshot({ path: join(shots, "widget-invalid.png"), fullPage: true });
      await context.close();
    });
  }

  test("a published lock hash that differs fails at link", async () => {
    const { page, context } = await open({ src: "/b/valid.json", key: b.publicKey, "lock-hash": "ab".repeat(32), loading: "eager" });
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "invalid");
    assert.equal(await page.getAttribute("fairdraw-draw", "failed-step"), "link");
    await context.close();
  });

  test("a file that is not a bundle is invalid at bundle; a missing one is an error", async () => {
    let { page, context } = await open({ src: "/b/cases.json", loading: "eager" });
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "invalid");
    assert.equal(await page.getAttribute("fairdraw-draw", "failed-step"), "bundle");
    await context.close();
    ({ page, context } = await open({ src: "/b/missing.json", loading: "eager" }));
    assert.equal(await waitState(page, ["verified", "invalid", "error"]), "error");
    assert.match(await partText(page, "failure"), /404/);
    await context.close();
  });
});

describe("check my entry", () => {
  async function check(page, who) {
    const form = page.locator("fairdraw-draw");
    await form.getByLabel(/Check my entry/).fill(who);
    await form.getByRole("button", { name: "Check" }).click();
    await page.waitForFunction(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="entry-result"]').textContent.length > 0);
    return page.evaluate(() => {
      const n = document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="entry-result"]');
      return { status: n.dataset.status, text: n.textContent, rules: [...n.querySelectorAll("[data-rule]")].map((x) => x.dataset.rule) };
    });
  }

  test("eligible, excluded (rule named) and unknown entrants", async () => {
    const { page, context } = await open(valid());
    await waitState(page, ["verified"]);
    const bea = await check(page, "@bea");
    assert.equal(bea.status, "eligible");
    assert.match(bea.text, /holds \d+ tickets?/);
    assert.match(bea.text, /: valid\./);
    assert.match(bea.text, /alternate 1/);
    const spammer = await check(page, "@spammer");
    assert.equal(spammer.status, "excluded");
    assert.deepEqual([...new Set(spammer.rules)], ["exclude_users"]);
    const nobody = await check(page, "@nobody-at-all");
    assert.equal(nobody.status, "no_entry");
    assert.match(nobody.text, /no entry from @nobody-at-all/);
    await context.close();
  });

  test("works with the keyboard only", async () => {
    const { page, context } = await open(valid());
    await waitState(page, ["verified"]);
    await page.evaluate(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="show-all"]')?.click());
    let focused = "";
    for (let i = 0; i < 12 && focused !== "entry-input"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.querySelector("fairdraw-draw").shadowRoot.activeElement?.getAttribute("part") || "");
    }
    assert.equal(focused, "entry-input", "Tab reaches the entry field");
    await page.keyboard.type("@bea");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="entry-result"]').dataset.status === "eligible");
    await context.close();
  });
});

describe("reach", () => {
  test("dark theme, Spanish, and an accessibility scan with axe-core", async () => {
    const axe = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    for (const [name, attrs, extra, ctx] of [
      ["widget-dark.png", { ...valid(), theme: "dark" }, { bg: "#000" }, { colorScheme: "dark" }],
      ["widget-es.png", valid(), { html_lang: "es" }, {}],
      ["widget-light-axe", valid(), {}, {}],
    ]) {
      const { page, context } = await open(attrs, extra, ctx);
      await waitState(page, ["verified"]);
      await page.evaluate(() => document.querySelector("fairdraw-draw").shadowRoot.querySelector('[part~="show-all"]')?.click());
      await page.waitForTimeout(100);
      if (extra.html_lang === "es") assert.match(await partText(page, "badge"), /Verificado en tu navegador/);
      await page.addScriptTag({ content: axe });
      const result = await page.evaluate(async () => {
        const r = await globalThis.axe.run(document.querySelector("fairdraw-draw"), { resultTypes: ["violations"] });
        return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
      });
      assert.deepEqual(result, [], `axe violations in ${name}`);
      if (name.endsWith(".png")) await page.screenshot({ path: join(shots, name), fullPage: true });
      await context.close();
    }
  });

  test("the language follows the element's lang over the page's", async () => {
    const { page, context } = await open({ ...valid(), lang: "es" }, { html_lang: "en" });
    await waitState(page, ["verified"]);
    assert.match(await partText(page, "badge"), /Verificado/);
    await page.evaluate(() => document.querySelector("fairdraw-draw").setAttribute("lang", "en"));
    assert.match(await partText(page, "badge"), /Verified in your browser/);
    await context.close();
  });
});
