// End to end, as a person would see it: the release binary of the app in a real window
// (Xvfb), driven through tauri-driver and WebKitWebDriver, on a data directory prepared
// with `veritas-db demo` and `veritas-db ingest`. Screenshots of the window are saved in
// artifacts/e2e/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { remote } from "webdriverio";

const ROOT = resolve(import.meta.dirname, "../..");
const APP = join(ROOT, "target/release/veritas-viewer");
const CLI = join(ROOT, "target/release/veritas-db");
const ARTIFACTS = join(ROOT, "artifacts/e2e");
const DRIVER = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? "/root", ".cargo/bin/tauri-driver");
const FIXTURES = join(ROOT, "tests/fixtures");
const HOSTILE_ID = "vrts_e2e00001";
const LIVE_ID = "vrts_e2e00002";

const children = [];
let browser;
let dataDir;

function veritasDb(args, input) {
  const r = spawnSync(CLI, ["--data-dir", dataDir, ...args], { input, encoding: "utf8" });
  assert.equal(r.status, 0, `veritas-db ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** The event stream of one complete audit with one finding and the given narrative. */
function stream(id, url, narrative) {
  return [
    { type: "audit_start", audit_id: id, url, tier: "deep_forensic", verdict_mode: "expert" },
    { type: "phase_start", phase: "init", message: "Starting", pct: 0 },
    { type: "phase_complete", phase: "init", message: "Done", pct: 10 },
    { type: "finding", finding: { pattern_type: "countdown_timer", category: "false_urgency", severity: "critical", confidence: 0.93, description: "A fake countdown", plain_english: "The clock lies." } },
    { type: "audit_result", result: { trust_score: 23.5, risk_level: "high_risk", narrative, signal_scores: { visual: 20, graph: 30, security: 25, structural: 40, temporal: 60, meta: 50 } } },
    { type: "audit_complete", audit_id: id },
  ].map((e) => JSON.stringify(e)).join("\n") + "\n";
}

function waitPort(port, ms) {
  const until = Date.now() + ms;
  return new Promise((res, rej) => {
    const tryOnce = () => {
      const s = net.connect(port, "127.0.0.1", () => { s.end(); res(); });
      s.on("error", () => (Date.now() > until ? rej(new Error(`port ${port} never opened`)) : setTimeout(tryOnce, 200)));
    };
    tryOnce();
  });
}

async function shot(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The X screen as a person at the machine sees it (ImageMagick), which is reliable...
  const r = spawnSync("import", ["-window", "root", join(ARTIFACTS, `${name}.png`)], { env: process.env });
  assert.equal(r.status, 0, `import failed: ${r.stderr}`);
  // ...and the webview's own rendering, where WebKitWebDriver manages it in time.
  await Promise.race([
    browser.saveScreenshot(join(ARTIFACTS, `${name}-webview.png`)).catch(() => {}),
    new Promise((r) => setTimeout(r, 5000)),
  ]);
}

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

const count = async () => (await browser.$('[data-testid="result-count"]').getText()).trim();

describe("Veritas Viewer in a real window", () => {
  before(async () => {
    assert.ok(existsSync(APP), `build the app first: ${APP}`);
    dataDir = mkdtempSync(join(tmpdir(), "veritas-e2e-"));
    veritasDb(["demo", "--audits", "16"]);
    veritasDb(["ingest", "-"], stream(HOSTILE_ID, "https://hostile.example/", "## Beware\n\n<script>document.title='pwned'; window.pwned = 1</script>\n\n<img src=x onerror=\"window.pwned = 2\">\n\nA **bold** claim."));

    if (!process.env.DISPLAY) {
      const xvfb = spawn("Xvfb", [":99", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"], { stdio: "ignore" });
      children.push(xvfb);
      process.env.DISPLAY = ":99";
      await new Promise((r) => setTimeout(r, 800));
    }
    // A fresh profile: the app remembers its last view and filters in the webview's storage.
    const profile = mkdtempSync(join(tmpdir(), "veritas-e2e-profile-"));
    const env = {
      ...process.env,
      VERITAS_DATA_DIR: dataDir,
      WEBKIT_DISABLE_DMABUF_RENDERER: "1",
      XDG_DATA_HOME: join(profile, "data"),
      XDG_CONFIG_HOME: join(profile, "config"),
      XDG_CACHE_HOME: join(profile, "cache"),
    };
    const driver = spawn(DRIVER, ["--port", "4444", "--native-port", "4445"], { env, stdio: ["ignore", "inherit", "inherit"] });
    children.push(driver);
    await waitPort(4444, 20000);
    browser = await remote({
      hostname: "127.0.0.1",
      port: 4444,
      logLevel: "error",
      capabilities: { "tauri:options": { application: APP } },
    });
  });

  after(async () => {
    if (browser) await browser.deleteSession().catch(() => {});
    for (const c of children.reverse()) c.kill("SIGTERM");
  });

  it("lists the audits with their counts", async () => {
    await until("the list", async () => (await count()) === "17 audits");
    const rows = await browser.$$('[data-testid="audit-row"]');
    assert.ok(rows.length >= 10, `rows are shown (${rows.length})`);
    const hostile = await browser.$(`[data-testid="audit-row"][data-id="${HOSTILE_ID}"]`);
    assert.ok(await hostile.isExisting(), "the ingested audit is listed");
    const findings = await browser.execute(
      (id) => document.querySelector(`[data-testid="audit-row"][data-id="${id}"] [data-testid="findings-count"]`)?.textContent,
      HOSTILE_ID,
    );
    assert.equal(findings, "1", "the row shows the audit's finding count");
    await shot("01-list");
  });

  it("narrows the list by search and by a facet", async () => {
    await browser.$('[data-testid="search"]').setValue("cozy");
    await until("search results", async () => (await count()) === "2 audits");
    await shot("02-search");
    await browser.$('[data-testid="search"]').clearValue();
    await until("the full list again", async () => (await count()) === "17 audits");
    await browser.$('[data-testid="facet-status"] input[data-value="error"]').click();
    await until("the error facet", async () => (await count()) === "1 audit");
    await browser.$('[data-testid="facet-status"] input[data-value="error"]').click();
    await until("the facet cleared", async () => (await count()) === "17 audits");
  });

  it("shows an audit's score, its narrative inert, and its findings", async () => {
    await browser.execute((id) => (location.hash = `#/audits/${id}`), HOSTILE_ID);
    await until("the detail", async () => (await browser.$('[data-testid="trust-score"]').getText()) === "24");
    const narrative = await browser.$('[data-testid="narrative"]');
    assert.match(await narrative.getText(), /A bold claim/);
    const scripts = await browser.execute(() => document.querySelectorAll('[data-testid="narrative"] script, [data-testid="narrative"] img').length);
    assert.equal(scripts, 0, "no script or image from the narrative is in the page");
    assert.equal(await browser.execute(() => window.pwned ?? null), null, "nothing in the narrative ran");
    assert.notEqual(await browser.getTitle(), "pwned");
    await shot("03-detail");
    await browser.$('[data-testid="tab-findings"]').click();
    await until("findings", async () => (await browser.$$('[data-testid="finding"]')).length === 1);
    assert.ok(await browser.$('[data-testid="severity-matrix"]').isExisting());
    await shot("04-findings");
  });

  it("marks what is new since the site's last audit, carries a verdict to its other audit, and diffs their screenshots", async () => {
    // The demo audits the shop twice; the newer run found one thing the older did not.
    const [older, newer] = JSON.parse(veritasDb(["history", "https://shop.example-deals.com/", "--json"]));
    await browser.execute((id) => (location.hash = `#/audits/${id}/findings`), newer.id);
    const marks = await until("the change marks", async () => {
      const m = await browser.execute(() => [...document.querySelectorAll('[data-testid="finding-change"]')].map((e) => e.dataset.change));
      return m.length === 2 ? m.sort() : null;
    });
    assert.deepEqual(marks, ["new", "persisting"]);
    assert.match(await browser.$('[data-testid="changes-against"]').getText(), new RegExp(older.id));

    // Mark the finding both runs share a false positive, as "e2e analyst".
    await browser.$('[data-testid="triage-author"]').setValue("e2e analyst");
    const shared = await until("the shared finding", async () => {
      for (const f of await browser.$$('[data-testid="finding"]')) {
        if ((await f.$('[data-testid="finding-change"]').getAttribute("data-change")) === "persisting") return f;
      }
      return null;
    });
    await shared.$('[data-testid="triage-open"]').click();
    await shared.$('[data-testid="triage-verdict-select"]').selectByAttribute("value", "false_positive");
    await shared.$('[data-testid="triage-note"]').setValue("the timer is real");
    await shot("14-triage-form");
    await shared.$('[data-testid="triage-save"]').click();
    await until("the finding hidden", async () => (await browser.$$('[data-testid="finding"]')).length === 1);
    assert.match(await browser.$('[data-testid="hidden-by-triage"]').getText(), /Hiding 1 finding/);
    await shot("15-triaged-hidden");

    // The older audit of the site: already marked, carried from the newer one.
    await browser.execute((id) => (location.hash = `#/audits/${id}/findings`), older.id);
    await until("the older audit's hidden count", async () =>
      /Hiding 1 finding/.test(await browser.$('[data-testid="hidden-by-triage"]').getText()),
    );
    await browser.$('[data-testid="show-hidden"]').click();
    const verdict = await until("the carried verdict", async () => browser.$('[data-testid="triage-verdict"]').getAttribute("data-verdict"));
    assert.equal(verdict, "false_positive");
    assert.equal(await browser.$('[data-testid="triage-carried"]').getText(), newer.id);
    assert.match(await browser.$('[data-testid="triage-origin"]').getText(), /e2e analyst/);
    await shot("16-triage-carried");

    // The two runs' full-page screenshots, compared: the slider, then the core's heat map.
    await browser.execute((id) => (location.hash = `#/audits/${id}/screenshots`), newer.id);
    await browser.$('[data-testid="diff-previous"]').click();
    await until("the screenshot diff", async () => browser.$('[data-testid="screenshot-diff"]').isExisting());
    const share = await until("the changed share", async () => {
      const t = await browser.$('[data-testid="diff-share"]').getText();
      return /% of the page changed/.test(t) ? t : null;
    });
    assert.match(share, /1939×7464/, `the full-page shots are compared first: ${share}`);
    // The newer run's page has an urgency banner the older one had not: a change, small.
    const percent = Number.parseFloat(share);
    assert.ok(percent > 0 && percent < 5, `the banner's share of the page: ${share}`);
    await browser.execute(() => {
      const s = document.querySelector('[data-testid="diff-slider"]');
      s.value = "30";
      s.dispatchEvent(new Event("input", { bubbles: true }));
      document.querySelector('[data-testid="screenshot-diff"]').scrollIntoView();
    });
    await until("the slider moved", async () =>
      /inset\(0(px)? 0(px)? 0(px)? 30%\)/.test(await browser.$('[data-testid="diff-after"]').getAttribute("style")),
    );
    await until("both images drawn", async () =>
      browser.execute(() => [...document.querySelectorAll('[data-testid="diff-frame"] img')].every((i) => i.complete && i.naturalWidth > 0)),
    );
    await shot("17-diff-slider");
    await browser.$('[data-testid="diff-mode-heat"]').click();
    const heat = await until("the heat map", async () =>
      browser.execute(() => {
        const i = document.querySelector('[data-testid="diff-heat"]');
        return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null;
      }),
    );
    assert.deepEqual(heat, [1939, 7464]);
    await browser.execute(() => document.querySelector('[data-testid="screenshot-diff"]').scrollIntoView());
    await shot("18-diff-heat");

    // The same decision, through the CLI that shares the database.
    const history = JSON.parse(veritasDb(["triage", String(JSON.parse(veritasDb(["show", older.id, "--json"])).findings[0].id), "--history", "--json"]));
    assert.equal(history[0].verdict, "false_positive");
    assert.equal(history[0].author, "e2e analyst");

    // The list's sidebar leaves the two hidden findings out of its pattern counts, and counts
    // them again at the switch.
    await browser.execute(() => (location.hash = "#/audits"));
    const hiddenCount = await until("the sidebar's hidden count", async () => {
      const e = await browser.$('[data-testid="hidden-findings"]');
      return (await e.isExisting()) ? e.getText() : null;
    });
    assert.equal(hiddenCount, "2");
    const patternSum = () =>
      browser.execute(() =>
        [...document.querySelectorAll('[data-testid="facet-pattern_type"] .count')].reduce(
          (n, e) => n + Number(e.textContent.replace(/[^0-9]/g, "")),
          0,
        ),
      );
    const without = await patternSum();
    await browser.$('[data-testid="include-hidden"]').click();
    const withHidden = await until("the counts with the hidden findings", async () => {
      const n = await patternSum();
      return n > without ? n : null;
    });
    assert.ok(withHidden > without, `pattern counts ${without} -> ${withHidden}`);
    await shot("19-facets-with-hidden");
    await browser.$('[data-testid="include-hidden"]').click();
    await until("the counts without them again", async () => (await patternSum()) === without);
  });

  it("shows the audit's timeline: its phases and log, as the core reads them", async () => {
    await browser.execute((id) => (location.hash = `#/audits/${id}/timeline`), HOSTILE_ID);
    const phases = await until("the phases", async () => {
      const rows = await browser.$$('[data-testid="phase"]');
      return rows.length === 1 ? rows : null;
    });
    const phase = await phases[0].getText();
    assert.match(phase, /Initialization/, `the phase's label from the core's vocabulary: ${phase}`);
    assert.match(phase, /✓/, `a completed phase is marked done: ${phase}`);
    const log = await browser.$('[data-testid="timeline"] .log').getText();
    assert.match(log, /critical countdown_timer/, "an event without a message is described");
    await shot("09-timeline");
  });

  it("loads screenshots, a tall full-page one too, and shows a missing one as missing", async () => {
    const list = JSON.parse(veritasDb(["list", "--json", "--search", "shop example deals"]));
    const shop = list.find((a) => a.url.includes("example-deals") && a.screenshots_count >= 3);
    const news = JSON.parse(veritasDb(["list", "--json", "--search", "daily ledger"]))[0];
    await browser.execute((id) => (location.hash = `#/audits/${id}/screenshots`), shop.id);
    const thumbs = await until("thumbnails", async () => {
      const n = await browser.execute(() => [...document.querySelectorAll('[data-testid="thumb"] img')].filter((i) => i.complete && i.naturalWidth > 0).length);
      return n >= 3 ? n : 0;
    });
    assert.ok(thumbs >= 3);
    await shot("05-filmstrip");
    const detail = JSON.parse(veritasDb(["show", shop.id, "--json"]));
    const full = detail.screenshots.findIndex((s) => s.height === 7464);
    assert.ok(full >= 0, "the demo audit has a full-page shot");
    await browser.execute((id, n) => (location.hash = `#/audits/${id}/screenshots/${n}`), shop.id, full);
    const size = await until("the full-page image", async () => {
      const s = await browser.execute(() => {
        const img = document.querySelector('[data-testid="viewer-image"]');
        return img && img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : null;
      });
      return s;
    });
    assert.deepEqual(size, [1939, 7464]);
    await shot("06-viewer-fullpage");
    await browser.keys(["Escape"]);

    await browser.execute((id) => (location.hash = `#/audits/${id}/screenshots`), news.id);
    await until("the missing state", async () => (await browser.$$('[data-testid="missing-shot"]')).length === 1);
    await shot("07-missing");
  });

  it("shows an audit ingested by another process without a reload", async () => {
    await browser.execute(() => (location.hash = "#/audits"));
    await until("the list", async () => (await count()) === "17 audits");
    const marker = await browser.execute(() => (window.__sameDocument = Math.random()));
    veritasDb(["ingest", "-"], stream(LIVE_ID, "https://live.example/", "Arrived while the window was open."));
    await until("the new audit", async () => (await browser.$(`[data-testid="audit-row"][data-id="${LIVE_ID}"]`).isExisting()), 10000);
    assert.equal(await count(), "18 audits");
    assert.equal(await browser.execute(() => window.__sameDocument), marker, "the page was not reloaded");
    await shot("08-live");
  });

  it("opens the current backend's data folder in place and shows everything it reports", async () => {
    // A copy of a folder as the current backend leaves it (tests/fixtures/README.md), with
    // a recording of its WebSocket ingested into its own file by veritas-db.
    const folder = mkdtempSync(join(tmpdir(), "veritas-e2e-elliot-"));
    cpSync(join(FIXTURES, "elliot-data"), folder, { recursive: true });
    const r = spawnSync(CLI, ["--data-dir", folder, "ingest", join(FIXTURES, "elliot_stream.ndjson")], { encoding: "utf8" });
    assert.equal(r.status, 0, `ingest of the recording: ${r.stderr}`);
    assert.match(r.stderr, /rejected 0 lines/);

    // A second session of the app, on that folder.
    await browser.deleteSession();
    browser = await remote({
      hostname: "127.0.0.1",
      port: 4444,
      logLevel: "error",
      capabilities: { "tauri:options": { application: APP, args: ["--data-dir", folder] } },
    });
    await until("the backend's audits", async () => (await count()) === "6 audits");
    assert.ok(!existsSync(join(folder, "veritas_audits.db")), "no second database beside the backend's");
    await shot("10-current-backend-list");

    // Filter by a MITRE technique the recording mapped (not the runner's preliminary ones).
    await browser.$('[data-testid="facet-mitre"] input[data-value="T1566"]').click();
    await until("the MITRE facet", async () => (await count()) === "1 audit");
    assert.ok(!(await browser.$('[data-testid="facet-mitre"] input[data-value="T1592"]').isExisting()));
    await browser.$('[data-testid="facet-mitre"] input[data-value="T1566"]').click();
    await until("the facet cleared", async () => (await count()) === "6 audits");

    await browser.execute(() => (location.hash = "#/audits/vrts_a1b2c3d4/intelligence"));
    await until("the intelligence tab", async () => (await browser.$$('[data-testid="mitre-technique"]')).length === 2);
    for (const part of ["dual-verdict", "threat-intel", "cvss", "domain", "exploration", "green-flags", "darknet"]) {
      assert.ok(await browser.$(`[data-testid="${part}"]`).isExisting(), `the ${part} panel is shown`);
    }
    assert.match(await browser.$('[data-testid="cvss"]').getText(), /CVSS:3\.1\/AV:N/);
    assert.equal((await browser.$$('[data-testid="password-form"]')).length, 1, "the login form's password field is flagged");
    // The knowledge graph: drawn by the graph library, a node's facts on selection.
    await until("the graph drawn", async () =>
      browser.execute(() => document.querySelectorAll('[data-testid="knowledge-graph"] canvas').length > 0),
    );
    await browser.$('[data-testid="knowledge-graph"] .legend button').click();
    await until("a node's facts", async () => /Age days/.test(await browser.$('[data-testid="graph-node-facts"]').getText()));
    await shot("11-intelligence");

    await browser.execute(() => (location.hash = "#/audits/vrts_a1b2c3d4/timeline"));
    const kinds = await until("the timeline kinds", async () => {
      const options = await browser.execute(() => [...document.querySelectorAll('[data-testid="timeline-kind"] option')].map((o) => o.value));
      return options.length > 5 ? options : null;
    });
    for (const k of ["navigation", "vision", "intel"]) assert.ok(kinds.includes(k), `the timeline knows ${k} events`);
    await shot("12-current-timeline");

    // A re-run audit: its last run by default, the first one click away.
    await browser.execute(() => (location.hash = "#/audits/vrts_00rerun1/findings"));
    await until("the last run's findings", async () => (await browser.$$('[data-testid="finding"]')).length === 2);
    const runs = await browser.$$('[data-testid="run-button"]');
    assert.equal(runs.length, 2);
    await runs[0].click();
    await until("the first run's findings", async () => (await browser.$$('[data-testid="finding"]')).length === 1);
    await shot("13-runs");

    // A finding the backend stored without its pattern says so.
    await browser.execute(() => (location.hash = "#/audits/vrts_0unknwn1/findings"));
    await until("the unrecorded finding", async () => browser.$('[data-testid="pattern-unrecorded"]').isExisting());
  });
});
