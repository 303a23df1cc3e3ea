// <fairdraw-draw>: a fairdraw draw, verified in the visitor's browser.
//
//   <script type="module" src="https://HOST/widget/fairdraw.js"></script>
//   <fairdraw-draw draw="ID" host="https://HOST"></fairdraw-draw>
//   <fairdraw-draw src="bundle.json" key="PUBLIC_KEY_HEX"></fairdraw-draw>
//
// No framework and no globals: attributes in; a `state` attribute, DOM events
// and an aria-live region out; styled with CSS custom properties and ::part.
// Verification runs in a Web Worker on the engine compiled to wasm
// (fairdraw-web), the same code as `fairdraw verify`. The file names of the
// worker and the wasm are filled in by web-widget/build.mjs.

const WORKER_FILE = "__FAIRDRAW_WORKER__";
const WASM_FILE = "__FAIRDRAW_WASM__";

// ---------------------------------------------------------------- i18n

const TRANSLATIONS = {
  en: {
    loading: "Loading the draw…",
    entries: "entries",
    eligible: "eligible entrants",
    tickets: "tickets",
    rules: "Rules",
    lockHash: "Lock hash",
    round: "Randomness",
    countdown: "Randomness due in {t}",
    due: "Randomness due now; waiting for the draw to be executed…",
    collecting: "Collecting entries: not locked yet.",
    cancelled: "This draw was cancelled.",
    failed: "This draw failed: {why}",
    verify: "Verify in my browser",
    verifying: "Verifying in your browser…",
    fetching: "Downloading the proof bundle… {n}",
    verified: "Verified in your browser",
    notAttributed: "Self-consistent, not attributed",
    invalid: "NOT verified",
    invalidStep: "Step “{step}” failed: {detail}",
    error: "Could not verify",
    stepsShow: "Show the steps",
    trustPinned: "Trusted key {key}, pinned by this page.",
    trustLogged: "Logged: the page's trusted witnesses saw the lock at {at}, before the randomness existed.",
    trustHost: "Trusted key {key}, from the host's published keys ({from}).",
    trustNone: "No key was given: the bundle is consistent with itself, but nothing here shows it was signed by the organiser.",
    trustError: "The key could not be trusted: {why}",
    winners: "Winners",
    alternates: "Alternates (in order)",
    winner: "Winner {n}",
    alternate: "Alternate {n}",
    revealNext: "Reveal next",
    showAll: "Show all",
    tickets1: "{n} ticket",
    ticketsN: "{n} tickets",
    checkEntry: "Check my entry",
    handle: "Your handle or user id",
    check: "Check",
    entryEligible: "{who} holds {tickets}. The inclusion proof ({steps} hashes) leads to the committed root {root}: {ok}.",
    proofOk: "valid",
    proofBad: "INVALID",
    entryResult: "Result: {r}.",
    entryNotCounted: "Entry {n} did not count ({rule}): {reason}",
    entryExcluded: "{who} has entries in “{collection}”, but the rules excluded every one:",
    entryNone: "There is no entry from {who} in “{collection}”.",
    entryError: "Could not check: {why}",
    entryWaiting: "The entry check opens once the entries are locked.",
    announceVerified: "Verified: every step of the draw holds.",
    announceInvalid: "Not verified: step {step} failed.",
    announceWinner: "{label}: {who}",
    steps: {
      bundle: "Bundle format",
      lock_signature: "Lock signature",
      execution_signature: "Execution signature",
      signer: "Signing key",
      link: "Lock and execution linked",
      log: "Transparency log",
      collections: "Entries",
      rules: "Rules re-applied",
      commitment: "Merkle commitment",
      randomness: "Beacon signature and timing",
      seed: "Seed re-derived",
      winners: "Winners re-drawn",
    },
    status: { passed: "passed", failed: "FAILED", skipped: "skipped" },
  },
  es: {
    loading: "Cargando el sorteo…",
    entries: "participaciones",
    eligible: "participantes válidos",
    tickets: "boletos",
    rules: "Reglas",
    lockHash: "Hash de cierre",
    round: "Aleatoriedad",
    countdown: "La aleatoriedad llega en {t}",
    due: "La aleatoriedad ya está disponible; esperando a que se ejecute el sorteo…",
    collecting: "Recogiendo participaciones: aún no está cerrado.",
    cancelled: "Este sorteo se canceló.",
    failed: "Este sorteo falló: {why}",
    verify: "Verificar en mi navegador",
    verifying: "Verificando en tu navegador…",
    fetching: "Descargando el paquete de prueba… {n}",
    verified: "Verificado en tu navegador",
    notAttributed: "Coherente, sin atribuir",
    invalid: "NO verificado",
    invalidStep: "Falló el paso «{step}»: {detail}",
    error: "No se pudo verificar",
    stepsShow: "Ver los pasos",
    trustPinned: "Clave de confianza {key}, fijada por esta página.",
    trustLogged: "Registrado: los testigos de confianza de la página vieron el cierre a las {at}, antes de que existiera la aleatoriedad.",
    trustHost: "Clave de confianza {key}, de las claves publicadas por el servidor ({from}).",
    trustNone: "No se indicó ninguna clave: el paquete es coherente consigo mismo, pero nada aquí demuestra que lo firmó el organizador.",
    trustError: "No se pudo confiar en la clave: {why}",
    winners: "Ganadores",
    alternates: "Suplentes (en orden)",
    winner: "Ganador {n}",
    alternate: "Suplente {n}",
    revealNext: "Mostrar el siguiente",
    showAll: "Mostrar todos",
    tickets1: "{n} boleto",
    ticketsN: "{n} boletos",
    checkEntry: "Comprobar mi participación",
    handle: "Tu usuario o id",
    check: "Comprobar",
    entryEligible: "{who} tiene {tickets}. La prueba de inclusión ({steps} hashes) lleva a la raíz comprometida {root}: {ok}.",
    proofOk: "válida",
    proofBad: "NO VÁLIDA",
    entryResult: "Resultado: {r}.",
    entryNotCounted: "La participación {n} no contó ({rule}): {reason}",
    entryExcluded: "{who} participó en «{collection}», pero las reglas excluyeron todas sus participaciones:",
    entryNone: "No hay ninguna participación de {who} en «{collection}».",
    entryError: "No se pudo comprobar: {why}",
    entryWaiting: "La comprobación se abre cuando se cierran las participaciones.",
    announceVerified: "Verificado: todos los pasos del sorteo se cumplen.",
    announceInvalid: "No verificado: falló el paso {step}.",
    announceWinner: "{label}: {who}",
    steps: {
      bundle: "Formato del paquete",
      lock_signature: "Firma del cierre",
      execution_signature: "Firma de la ejecución",
      signer: "Clave de firma",
      link: "Cierre y ejecución enlazados",
      log: "Registro de transparencia",
      collections: "Participaciones",
      rules: "Reglas reaplicadas",
      commitment: "Compromiso Merkle",
      randomness: "Firma y momento de la baliza",
      seed: "Semilla recalculada",
      winners: "Ganadores resorteados",
    },
    status: { passed: "correcto", failed: "FALLÓ", skipped: "omitido" },
  },
};

function interpolate(s, vars) {
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
}

// ---------------------------------------------------------------- the worker

function inlineAssets() {
  const g = globalThis.FAIRDRAW_INLINE;
  return g && typeof g.worker === "string" && typeof g.wasm === "string" ? g : null;
}

function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** One worker per element; calls are matched to answers by id. */
class Verifier {
  constructor() {
    const inline = inlineAssets();
    let source;
    let wasm;
    if (inline) {
      source = inline.worker;
      wasm = base64ToBytes(inline.wasm).buffer;
    } else {
      // A worker must be same-origin with the page, and the widget is usually
      // served from another host: start a Blob worker that imports the
      // worker script (CORS allows it).
      const workerUrl = new URL(WORKER_FILE, import.meta.url).href;
      source = `importScripts(${JSON.stringify(workerUrl)});`;
      wasm = new URL(WASM_FILE, import.meta.url).href;
    }
    const blobUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    this.worker = new Worker(blobUrl);
    this.next = 1;
    this.pending = new Map();
    this.worker.onmessage = (ev) => {
      const { id, progress, result, error } = ev.data || {};
      const p = this.pending.get(id);
      if (!p) return;
      if (progress) return p.onProgress && p.onProgress(progress);
      this.pending.delete(id);
      if (error !== undefined) p.reject(new Error(error));
      else p.resolve(result);
    };
    this.worker.onerror = (ev) => {
      const e = new Error(`the verifier stopped: ${ev.message || "worker error"}`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.ready = this.call({ op: "init", wasm }, null, wasm instanceof ArrayBuffer ? [wasm] : []);
  }
  call(msg, onProgress, transfer) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage(Object.assign({ id }, msg), transfer || []);
    });
  }
  terminate() {
    this.worker.terminate();
  }
}

// ---------------------------------------------------------------- the element

const STYLE = `
:host {
  --fairdraw-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --fairdraw-bg: #ffffff;
  --fairdraw-fg: #1b1f24;
  --fairdraw-muted: #57606a;
  --fairdraw-border: #d0d7de;
  --fairdraw-accent: #0a58ca;
  --fairdraw-ok: #116329;
  --fairdraw-ok-bg: #dafbe1;
  --fairdraw-warn: #7d4e00;
  --fairdraw-warn-bg: #fff8c5;
  --fairdraw-bad: #a40e26;
  --fairdraw-bad-bg: #ffebe9;
  --fairdraw-radius: 10px;
  --fairdraw-reveal-ms: 700;
  display: block;
  font-family: var(--fairdraw-font);
  color: var(--fairdraw-fg);
}
:host([theme="dark"]) { --fairdraw-bg:#0d1117; --fairdraw-fg:#e6edf3; --fairdraw-muted:#9da7b3; --fairdraw-border:#30363d;
  --fairdraw-accent:#58a6ff; --fairdraw-ok:#56d364; --fairdraw-ok-bg:#0f2e1a; --fairdraw-warn:#e3b341; --fairdraw-warn-bg:#2e2408;
  --fairdraw-bad:#ff7b72; --fairdraw-bad-bg:#3b1219; }
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) { --fairdraw-bg:#0d1117; --fairdraw-fg:#e6edf3; --fairdraw-muted:#9da7b3; --fairdraw-border:#30363d;
  --fairdraw-accent:#58a6ff; --fairdraw-ok:#56d364; --fairdraw-ok-bg:#0f2e1a; --fairdraw-warn:#e3b341; --fairdraw-warn-bg:#2e2408;
  --fairdraw-bad:#ff7b72; --fairdraw-bad-bg:#3b1219; }
}
[part~="base"] { background: var(--fairdraw-bg); border: 1px solid var(--fairdraw-border); border-radius: var(--fairdraw-radius);
  padding: 1rem 1.25rem; line-height: 1.45; }
[part~="title"] { font-size: 1.3rem; margin: 0 0 .25rem; }
[part~="counts"], [part~="lock"], [part~="countdown"], [part~="trust"], [part~="status"] { color: var(--fairdraw-muted); margin: .25rem 0; }
[part~="lock"] code, [part~="trust"] code, [part~="entry-result"] code { word-break: break-all; font-size: .85em; }
[part~="rules"] { margin: .5rem 0; padding-left: 1.25rem; }
[part~="badge"] { display: inline-flex; align-items: center; gap: .4rem; font-weight: 600; padding: .35rem .7rem; border-radius: 999px;
  border: 1px solid var(--fairdraw-border); margin: .5rem 0; }
[part~="badge"][data-kind="verified"] { color: var(--fairdraw-ok); background: var(--fairdraw-ok-bg); border-color: var(--fairdraw-ok); }
[part~="badge"][data-kind="unattributed"] { color: var(--fairdraw-warn); background: var(--fairdraw-warn-bg); border-color: var(--fairdraw-warn); }
[part~="badge"][data-kind="invalid"], [part~="badge"][data-kind="error"] { color: var(--fairdraw-bad); background: var(--fairdraw-bad-bg); border-color: var(--fairdraw-bad); }
[part~="failure"] { color: var(--fairdraw-bad); margin: .25rem 0; }
[part~="steps"] { margin: .25rem 0 .5rem; padding-left: 1.25rem; }
[part~="step"][data-status="failed"] { color: var(--fairdraw-bad); font-weight: 600; }
[part~="step"][data-status="skipped"] { color: var(--fairdraw-muted); }
[part~="step"] small { display: block; color: var(--fairdraw-muted); word-break: break-word; }
[part~="winners"], [part~="alternates"] { margin: .25rem 0 .75rem; padding-left: 1.5rem; }
[part~="winner"], [part~="alternate"] { animation: fairdraw-in .4s ease-out; }
[part~="winner"] { font-weight: 600; }
@keyframes fairdraw-in { from { opacity: 0; transform: translateY(-4px); } to { opacity: 1; transform: none; } }
@media (prefers-reduced-motion: reduce) { [part~="winner"], [part~="alternate"] { animation: none; } }
[part~="button"] { font: inherit; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--fairdraw-accent);
  background: var(--fairdraw-accent); color: var(--fairdraw-bg); cursor: pointer; margin: .25rem .4rem .25rem 0; }
[part~="button"]:focus-visible, [part~="entry-input"]:focus-visible { outline: 3px solid var(--fairdraw-accent); outline-offset: 2px; }
[part~="entry-form"] { margin-top: .75rem; border-top: 1px solid var(--fairdraw-border); padding-top: .75rem; }
[part~="entry-input"] { font: inherit; padding: .3rem .5rem; border-radius: 6px; border: 1px solid var(--fairdraw-border);
  background: var(--fairdraw-bg); color: var(--fairdraw-fg); min-width: 12rem; }
[part~="entry-result"] { margin: .5rem 0 0; }
h3 { font-size: 1rem; margin: .75rem 0 .25rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
[hidden] { display: none !important; }
`;

const TEMPLATE = `
<section part="base">
  <h2 part="title"></h2>
  <p part="status" data-id="status"></p>
  <p part="counts" hidden></p>
  <ul part="rules" hidden></ul>
  <p part="lock" hidden></p>
  <p part="countdown" hidden></p>
  <div part="verification">
    <span part="badge" data-id="badge" hidden></span>
    <p part="failure" hidden></p>
    <button part="button verify-button" type="button" data-id="verify" hidden></button>
    <details part="details" data-id="details" hidden><summary part="summary"></summary><ol part="steps"></ol></details>
    <p part="trust" hidden></p>
  </div>
  <div part="results" hidden>
    <h3 data-id="winners-h"></h3><ol part="winners"></ol>
    <h3 data-id="alternates-h"></h3><ol part="alternates"></ol>
    <button part="button reveal-next" type="button" data-id="reveal-next" hidden></button>
    <button part="button show-all" type="button" data-id="show-all" hidden></button>
  </div>
  <form part="entry-form" data-id="entry-form" hidden>
    <label part="entry-label" data-id="entry-label"></label>
    <input part="entry-input" data-id="entry-input" name="entrant" autocomplete="off" spellcheck="false">
    <button part="button entry-button" type="submit" data-id="entry-button"></button>
    <div part="entry-result" data-id="entry-result" role="status"></div>
  </form>
  <div class="sr-only" aria-live="polite" data-id="live"></div>
</section>`;

let instances = 0;

export class FairdrawDraw extends HTMLElement {
  static get observedAttributes() {
    return ["draw", "host", "src", "key", "lock-hash", "keys", "policy", "lang", "reveal"];
  }

  /** Adds or extends a language: `FairdrawDraw.registerTranslation("fr", {...})`. */
  static registerTranslation(lang, table) {
    const base = TRANSLATIONS[lang] || {};
    TRANSLATIONS[lang] = Object.assign({}, base, table, {
      steps: Object.assign({}, base.steps, table.steps),
      status: Object.assign({}, base.status, table.status),
    });
  }

  constructor() {
    super();
    this.uid = ++instances;
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
    this.$ = (sel) => root.querySelector(sel);
    this.$p = (name) => root.querySelector(`[part~="${name}"]`);
    this.byId = (id) => root.querySelector(`[data-id="${id}"]`);
    this.byId("verify").addEventListener("click", () => this.startVerification());
    this.byId("show-all").addEventListener("click", () => this.revealAll());
    this.byId("reveal-next").addEventListener("click", () => this.revealNext());
    this.byId("entry-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.checkEntry(this.byId("entry-input").value);
    });
    const input = this.byId("entry-input");
    input.id = `fairdraw-entrant-${this.uid}`;
    this.byId("entry-label").setAttribute("for", input.id);
    this.timers = new Set();
  }

  connectedCallback() {
    this.connected = true;
    this.applyTexts();
    if (!this.started) {
      this.started = true;
      queueMicrotask(() => this.begin());
    }
  }

  disconnectedCallback() {
    this.connected = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stopListening();
    if (this.countdownTimer) clearInterval(this.countdownTimer);
    if (this.observer) this.observer.disconnect();
    if (this.verifier) this.verifier.terminate();
    this.verifier = null;
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.started) return;
    if (name === "lang") this.applyTexts();
    else if (["draw", "host", "src", "key", "lock-hash", "keys", "policy"].includes(name)) this.restart();
  }

  // ------------------------------------------------------------ texts

  get language() {
    const own = this.getAttribute("lang") || (this.closest && this.closest("[lang]") && this.closest("[lang]").getAttribute("lang"))
      || (document.documentElement && document.documentElement.lang) || "en";
    const l = own.toLowerCase();
    if (TRANSLATIONS[l]) return l;
    const short = l.split("-")[0];
    return TRANSLATIONS[short] ? short : "en";
  }

  t(key, vars) {
    const table = TRANSLATIONS[this.language];
    const v = key.split(".").reduce((o, k) => (o ? o[k] : undefined), table);
    const fallback = key.split(".").reduce((o, k) => (o ? o[k] : undefined), TRANSLATIONS.en);
    return interpolate(v === undefined ? (fallback === undefined ? key : fallback) : v, vars);
  }

  applyTexts() {
    this.byId("verify").textContent = this.t("verify");
    this.byId("show-all").textContent = this.t("showAll");
    this.byId("reveal-next").textContent = this.t("revealNext");
    this.byId("entry-label").textContent = this.t("checkEntry") + ": " + this.t("handle") + " ";
    this.byId("entry-button").textContent = this.t("check");
    this.byId("winners-h").textContent = this.t("winners");
    this.byId("alternates-h").textContent = this.t("alternates");
    this.$("details > summary").textContent = this.t("stepsShow");
    if (this.lastRender) this.lastRender();
  }

  // ------------------------------------------------------------ state

  setState(state) {
    this.setAttribute("state", state);
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(`fairdraw:${name}`, { detail, bubbles: true, composed: true }));
  }

  announce(text) {
    const live = this.byId("live");
    live.textContent = "";
    // A new text node after a tick so screen readers announce repeats too.
    this.later(() => { live.textContent = text; }, 30);
  }

  later(fn, ms) {
    const t = setTimeout(() => { this.timers.delete(t); if (this.connected) fn(); }, ms);
    this.timers.add(t);
    return t;
  }

  status(text) {
    const s = this.byId("status");
    s.textContent = text || "";
    s.hidden = !text;
  }

  restart() {
    this.disconnectedCallback();
    this.connected = true;
    this.bundleLoaded = false;
    this.verification = null;
    this.verificationStarted = false;
    this.pendingBytes = null;
    this.summary = null;
    for (const a of ["attributed", "failed-step"]) this.removeAttribute(a);
    this.stopCountdown();
    this.resetResults();
    this.begin();
  }

  // ------------------------------------------------------------ flow

  host() {
    const h = this.getAttribute("host");
    if (h) return h.replace(/\/+$/, "");
    try { return new URL(".", import.meta.url).origin; } catch (_) { return location.origin; }
  }

  async begin() {
    this.setState("loading");
    this.status(this.t("loading"));
    try {
      const draw = this.getAttribute("draw");
      const src = this.getAttribute("src");
      if (draw) await this.followDraw(draw);
      else if (src) {
        this.bundleUrl = new URL(src, document.baseURI).href;
        this.whenVisible(() => this.startVerification());
      } else if (this.pendingBytes) {
        // loadBundle() before connection.
      } else {
        this.status("");
        this.setState("loading");
      }
    } catch (e) {
      this.fail(e);
    }
  }

  async fetchJson(url) {
    const res = await fetch(url, { credentials: "omit", cache: "no-store" });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    return res.json();
  }

  /** Live updates: the draw's server-sent events (`/events`) call
   * `followDraw` the moment the draw locks, executes or fails. Polling stays
   * as the fallback (a proxy may block event streams): every
   * `poll-interval` while entries are collected, every 30 s once locked
   * and listening. Returns whether a stream is open. */
  listen(id) {
    if (this.events) return true;
    if (typeof EventSource === "undefined") return false;
    const es = new EventSource(`${this.host()}/v1/public/draws/${encodeURIComponent(id)}/events`);
    this.events = es;
    const refresh = () => this.followDraw(id).catch((e) => this.fail(e));
    for (const type of ["draw.locked", "draw.executed", "draw.failed"]) es.addEventListener(type, refresh);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && this.events === es) this.events = null;
    };
    return true;
  }

  stopListening() {
    if (this.events) this.events.close();
    this.events = null;
  }

  /** Schedules the next `followDraw`, replacing one already scheduled (an
   * event and a timer must not make two chains of polls). */
  followLater(id, ms) {
    if (this.followTimer) {
      clearTimeout(this.followTimer);
      this.timers.delete(this.followTimer);
    }
    this.followTimer = this.later(() => {
      this.followTimer = null;
      this.followDraw(id).catch((e) => this.fail(e));
    }, ms);
  }

  async followDraw(id) {
    const url = `${this.host()}/v1/public/draws/${encodeURIComponent(id)}`;
    const d = await this.fetchJson(url);
    if (!this.connected) return;
    this.summary = d;
    this.renderSummary({
      title: d.title, organization: d.organization, entries: d.entries, eligible: d.eligible,
      total_tickets: d.total_tickets, rules_in_words: d.rules_in_words, lock_hash: d.lock_hash,
      randomness: d.randomness, randomness_available_at: d.randomness_available_at,
    });
    const poll = Math.max(0.2, Number(this.getAttribute("poll-interval")) || 5) * 1000;
    switch (d.state) {
      case "draft":
        this.setState("collecting");
        this.status(this.t("collecting"));
        this.listen(id);
        this.followLater(id, poll);
        return;
      case "locked": {
        this.setState("locked");
        this.status("");
        this.startCountdown(d.randomness_available_at);
        if (d.lock_receipt_url) this.enableEntryCheck(`${this.host()}${d.lock_receipt_url}`);
        const live = this.listen(id);
        this.followLater(id, live ? Math.max(poll, 30000) : poll);
        return;
      }
      case "executed":
        this.stopListening();
        this.stopCountdown();
        this.status("");
        this.bundleUrl = `${this.host()}${d.bundle_url}`;
        this.whenVisible(() => this.startVerification());
        return;
      case "cancelled":
        this.stopListening();
        this.setState("error");
        this.status(this.t("cancelled"));
        return;
      default:
        this.stopListening();
        this.setState("error");
        this.status(this.t("failed", { why: d.failure || d.state }));
    }
  }

  /** Verification waits until the element is on screen (`loading="lazy"`,
   * the default) or runs at once (`loading="eager"`); the button starts it
   * either way. */
  whenVisible(fn) {
    this.byId("verify").hidden = false;
    if (this.getAttribute("loading") === "eager" || typeof IntersectionObserver === "undefined") return fn();
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        this.observer.disconnect();
        fn();
      }
    });
    this.observer.observe(this);
  }

  /** Verifies a bundle given as bytes (a dropped file, pasted JSON). */
  async loadBundle(bytes) {
    const buf = bytes instanceof ArrayBuffer ? bytes : new Uint8Array(bytes).slice().buffer;
    this.pendingBytes = buf;
    this.bundleUrl = null;
    this.verificationStarted = false;
    this.verification = null;
    this.resetResults();
    return this.startVerification();
  }

  resetResults() {
    for (const p of ["winners", "alternates", "steps", "rules"]) this.$p(p).textContent = "";
    this.$p("results").hidden = true;
    this.$p("failure").hidden = true;
    this.$p("trust").hidden = true;
    this.byId("details").hidden = true;
    this.byId("badge").hidden = true;
    this.byId("entry-result").textContent = "";
  }

  verifier_() {
    if (!this.verifier) this.verifier = new Verifier();
    return this.verifier;
  }

  async startVerification() {
    if (this.verificationStarted) return this.verificationDone;
    this.verificationStarted = true;
    if (this.observer) this.observer.disconnect();
    this.byId("verify").hidden = true;
    this.setState("verifying");
    this.showBadge("verifying", this.t("verifying"));
    this.verificationDone = this.verify_().catch((e) => this.fail(e));
    return this.verificationDone;
  }

  async verify_() {
    const v = this.verifier_();
    await v.ready;
    const onProgress = (p) => {
      if (p.phase === "fetching" && p.received) {
        const mb = (p.received / 1048576).toFixed(1) + " MB" + (p.total ? ` / ${(p.total / 1048576).toFixed(1)} MB` : "");
        this.showBadge("verifying", this.t("fetching", { n: mb }));
      } else if (p.phase === "verifying") this.showBadge("verifying", this.t("verifying"));
    };
    let info;
    if (this.pendingBytes) {
      const buf = this.pendingBytes;
      this.pendingBytes = null;
      info = await v.call({ op: "load", bytes: buf }, onProgress, [buf]);
    } else {
      info = await v.call({ op: "load", url: this.bundleUrl }, onProgress);
    }
    this.bundleLoaded = true;
    this.info = info;
    if (!info.error) {
      this.renderSummary(Object.assign({ organization: this.summary && this.summary.organization }, info));
    }
    const options = await this.trustOptions();
    const result = await v.call({ op: "verify", options }, onProgress);
    this.verification = result;
    this.renderVerification(result);
    this.enableEntryCheck(null);
    return result;
  }

  async trustOptions() {
    const options = {};
    const key = this.getAttribute("key");
    const lockHash = this.getAttribute("lock-hash");
    if (key) options.public_key = key;
    else {
      const keysUrl = this.getAttribute("keys") || (this.getAttribute("draw") ? `${this.host()}/.well-known/fairdraw-keys.json` : null);
      if (keysUrl && keysUrl !== "none") {
        options.keys_source = keysUrl;
        try {
          const res = await fetch(keysUrl, { credentials: "omit" });
          if (!res.ok) throw new Error(`${keysUrl} answered ${res.status}`);
          options.keys_document = await res.text();
        } catch (e) {
          // Asked for a key and could not get it: never verified.
          options.keys_error = String(e.message || e);
        }
      }
    }
    if (lockHash) options.lock_hash = lockHash;
    else if (this.summary && this.summary.lock_hash) options.lock_hash = this.summary.lock_hash;
    const policyUrl = this.getAttribute("policy");
    if (policyUrl) {
      try {
        const res = await fetch(policyUrl, { credentials: "omit" });
        if (!res.ok) throw new Error(`${policyUrl} answered ${res.status}`);
        options.policy = await res.text();
      } catch (e) {
        // Asked for a log policy and could not get it: never verified.
        options.policy_error = String(e.message || e);
      }
    }
    return options;
  }

  fail(e) {
    if (!this.connected) return;
    this.setState("error");
    this.showBadge("error", this.t("error"));
    const f = this.$p("failure");
    f.textContent = String((e && e.message) || e);
    f.hidden = false;
    this.announce(this.t("error") + ": " + f.textContent);
  }

  // ------------------------------------------------------------ rendering

  showBadge(kind, text) {
    const b = this.byId("badge");
    b.dataset.kind = kind;
    const mark = { verified: "✔", unattributed: "◐", invalid: "✘", error: "✘", verifying: "…" }[kind] || "";
    b.textContent = `${mark} ${text}`;
    b.hidden = false;
  }

  renderSummary(s) {
    this.lastSummary = s;
    const render = () => {
      const s = this.lastSummary;
      if (!s) return;
      this.$p("title").textContent = s.title || s.draw_id || "";
      const counts = [];
      if (s.entries != null) counts.push(`${s.entries} ${this.t("entries")}`);
      if (s.eligible != null) counts.push(`${s.eligible} ${this.t("eligible")}`);
      if (s.total_tickets != null) counts.push(`${s.total_tickets} ${this.t("tickets")}`);
      const c = this.$p("counts");
      c.textContent = (s.organization ? s.organization + " · " : "") + counts.join(" · ");
      c.hidden = !c.textContent;
      const rules = this.$p("rules");
      rules.textContent = "";
      for (const r of s.rules_in_words || []) {
        const li = document.createElement("li");
        li.textContent = r;
        rules.append(li);
      }
      rules.hidden = !(s.rules_in_words || []).length;
      rules.setAttribute("aria-label", this.t("rules"));
      const lock = this.$p("lock");
      lock.textContent = "";
      if (s.lock_hash) {
        lock.append(`${this.t("lockHash")}: `);
        const code = document.createElement("code");
        code.textContent = s.lock_hash;
        lock.append(code);
        if (s.randomness) lock.append(document.createElement("br"), `${this.t("round")}: ${s.randomness}`);
      }
      lock.hidden = !s.lock_hash;
    };
    this.lastRender = () => {
      render();
      if (this.verification) this.renderVerification(this.verification, true);
    };
    render();
  }

  startCountdown(at) {
    this.stopCountdown();
    const el = this.$p("countdown");
    const due = Date.parse(at || "");
    if (!Number.isFinite(due)) return;
    const tick = () => {
      const left = Math.max(0, Math.round((due - Date.now()) / 1000));
      if (left === 0) el.textContent = this.t("due");
      else {
        const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
        const t = (h ? `${h}h ` : "") + (h || m ? `${m}m ` : "") + `${s}s`;
        el.textContent = this.t("countdown", { t });
      }
      el.hidden = false;
    };
    tick();
    this.countdownTimer = setInterval(tick, 1000);
  }

  stopCountdown() {
    if (this.countdownTimer) clearInterval(this.countdownTimer);
    this.countdownTimer = null;
    this.$p("countdown").hidden = true;
  }

  renderVerification(result, rerender) {
    const report = result.report;
    const trust = result.trust || { source: "none" };
    const failure = report.steps.find((s) => s.status === "failed");
    const ok = result.verified === true && !failure;
    const attributed = ok && trust.source !== "none";
    const steps = this.$p("steps");
    steps.textContent = "";
    for (const s of report.steps) {
      const li = document.createElement("li");
      li.setAttribute("part", "step");
      li.dataset.step = s.step;
      li.dataset.status = s.status;
      li.append(`${this.t("steps." + s.step)}: ${this.t("status." + s.status)}`);
      const small = document.createElement("small");
      small.textContent = s.detail;
      li.append(small);
      steps.append(li);
    }
    const details = this.byId("details");
    details.hidden = false;
    if (this.hasAttribute("expanded") || !ok) details.open = true;
    const trustEl = this.$p("trust");
    const key = trust.key_id ? trust.key_id.slice(0, 16) + "…" : "";
    trustEl.textContent = trust.error
      ? this.t("trustError", { why: trust.error })
      : trust.source === "pinned" ? this.t("trustPinned", { key })
        : trust.source === "host" ? this.t("trustHost", { key, from: trust.from || this.host() })
          : this.t("trustNone");
    const witnessed = ok && result.report.lock_witnessed_at;
    if (witnessed) trustEl.textContent += " " + this.t("trustLogged", { at: witnessed });
    trustEl.dataset.logged = String(Boolean(witnessed));
    trustEl.hidden = false;
    const f = this.$p("failure");
    if (ok) {
      f.hidden = true;
      this.showBadge(attributed ? "verified" : "unattributed", attributed ? this.t("verified") : this.t("notAttributed"));
    } else {
      const step = failure ? failure.step : "signer";
      const detail = failure ? failure.detail : trust.error;
      this.showBadge("invalid", this.t("invalid"));
      f.textContent = this.t("invalidStep", { step: this.t("steps." + step), detail });
      f.hidden = false;
    }
    if (rerender) return;
    this.setAttribute("attributed", String(attributed));
    if (ok) {
      this.setState("verified");
      this.announce(this.t("announceVerified"));
      this.emit("verified", { report, trust, bundle: this.info, summary: this.summary || null });
      this.startReveal(report.winners, report.alternates);
    } else {
      const step = failure ? failure.step : "signer";
      this.setAttribute("failed-step", step);
      this.setState("invalid");
      this.announce(this.t("announceInvalid", { step: this.t("steps." + step) }));
      this.emit("invalid", { report, trust, step, detail: failure ? failure.detail : trust.error });
    }
  }

  // ------------------------------------------------------------ reveal

  startReveal(winners, alternates) {
    this.queue = [
      ...winners.map((p, i) => ({ p, list: "winners", part: "winner", label: this.t("winner", { n: i + 1 }) })),
      ...alternates.map((p, i) => ({ p, list: "alternates", part: "alternate", label: this.t("alternate", { n: i + 1 }) })),
    ];
    this.picks = { winners, alternates };
    this.$p("results").hidden = false;
    this.byId("alternates-h").hidden = alternates.length === 0;
    const reduced = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
    const manual = this.getAttribute("reveal") === "manual";
    this.byId("show-all").hidden = this.queue.length === 0;
    this.byId("reveal-next").hidden = !manual || this.queue.length === 0;
    if (reduced) return this.revealAll();
    if (!manual) {
      const ms = Number(getComputedStyle(this).getPropertyValue("--fairdraw-reveal-ms")) || 700;
      const step = () => {
        if (!this.queue.length) return;
        this.revealNext();
        if (this.queue.length) this.revealTimer = this.later(step, ms);
      };
      step();
    }
  }

  revealNext() {
    const item = this.queue && this.queue.shift();
    if (!item) return;
    const li = document.createElement("li");
    li.setAttribute("part", item.part);
    const e = item.p.entry;
    const tickets = item.p.tickets === 1 ? this.t("tickets1", { n: 1 }) : this.t("ticketsN", { n: item.p.tickets });
    li.textContent = `${e.handle}${e.display_name ? " (" + e.display_name + ")" : ""} · ${e.platform} · ${tickets}`;
    this.$p(item.list).append(li);
    this.announce(this.t("announceWinner", { label: item.label, who: e.handle }));
    if (!this.queue.length) this.finishReveal();
  }

  revealAll() {
    if (this.revealTimer) clearTimeout(this.revealTimer);
    while (this.queue && this.queue.length) this.revealNext();
  }

  finishReveal() {
    this.byId("show-all").hidden = true;
    this.byId("reveal-next").hidden = true;
    this.emit("winners", this.picks);
  }

  // ------------------------------------------------------------ entry check

  enableEntryCheck(lockUrl) {
    this.entrySource = lockUrl;
    this.byId("entry-form").hidden = false;
  }

  async checkEntry(who) {
    const out = this.byId("entry-result");
    out.textContent = "";
    try {
      const v = this.verifier_();
      await v.ready;
      if (!this.bundleLoaded) {
        if (this.entrySource) {
          await v.call({ op: "load", url: this.entrySource });
          this.bundleLoaded = true;
        } else throw new Error(this.t("entryWaiting"));
      }
      const r = await v.call({ op: "prove", entrant: who });
      this.renderEntry(r, who);
    } catch (e) {
      out.textContent = this.t("entryError", { why: String((e && e.message) || e) });
    }
  }

  renderEntry(r, who) {
    const out = this.byId("entry-result");
    out.textContent = "";
    out.dataset.status = r.status;
    const p = document.createElement("p");
    out.append(p);
    if (r.status === "eligible") {
      const tickets = r.tickets === 1 ? this.t("tickets1", { n: 1 }) : this.t("ticketsN", { n: r.tickets });
      p.textContent = this.t("entryEligible", {
        who: r.handle, tickets, steps: r.proof.path.length, root: r.merkle_root.slice(0, 16) + "…",
        ok: r.proof_verifies ? this.t("proofOk") : this.t("proofBad"),
      });
      if (r.result) {
        const q = document.createElement("p");
        q.textContent = this.t("entryResult", { r: r.result });
        out.append(q);
      }
      const leaf = document.createElement("p");
      const code = document.createElement("code");
      code.textContent = `leaf ${r.proof.leaf_index}/${r.proof.tree_size} ${r.leaf_hash}`;
      leaf.append(code);
      out.append(leaf);
      this.appendExclusions(out, r.not_counted);
    } else if (r.status === "excluded") {
      p.textContent = this.t("entryExcluded", { who, collection: r.collection });
      this.appendExclusions(out, r.excluded);
    } else if (r.status === "no_entry") {
      p.textContent = this.t("entryNone", { who, collection: r.collection });
    } else {
      p.textContent = this.t("entryError", { why: r.error || "?" });
    }
    this.announce(out.textContent);
  }

  appendExclusions(out, list) {
    if (!list || !list.length) return;
    const ul = document.createElement("ul");
    for (const x of list) {
      const li = document.createElement("li");
      li.dataset.rule = x.rule;
      li.textContent = this.t("entryNotCounted", { n: x.entry + 1, rule: x.rule, reason: x.reason });
      ul.append(li);
    }
    out.append(ul);
  }
}

if (!customElements.get("fairdraw-draw")) customElements.define("fairdraw-draw", FairdrawDraw);
