// End to end in team mode (issue 15): a data folder is pushed with `veritas-db push` into the
// PostgreSQL and SeaweedFS that tests/services.sh started, and the release app, started
// with VERITAS_DATABASE_URL and VERITAS_OBJECTS_URL, shows those audits, their facets and
// their screenshots, read from the object store through the core; two windows see each
// other's triage; an app started without URLs opens the team profile chosen last and
// switches to its data folder and back. Fails (never skips) without the services.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { remote } from "webdriverio";

const ROOT = resolve(import.meta.dirname, "../..");
const APP = join(ROOT, "target/release/veritas-viewer");
const CLI = join(ROOT, "target/release/veritas-db");
const ARTIFACTS = join(ROOT, "artifacts/e2e");
const DRIVER = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? "/root", ".cargo/bin/tauri-driver");

const children = [];
let browser;
let env;
let dataDir;
let database;
let objects;

function veritasDb(args) {
  const r = spawnSync(CLI, ["--data-dir", dataDir, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, `veritas-db ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
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

async function until(what, fn, ms = 20000) {
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

describe("Veritas Viewer on a team database (PostgreSQL + SeaweedFS)", () => {
  before(async () => {
    assert.ok(existsSync(APP), `build the app first: ${APP}`);
    const admin = process.env.VERITAS_TEST_DATABASE_URL;
    const store = process.env.VERITAS_TEST_OBJECTS_URL;
    assert.ok(admin && store, "VERITAS_TEST_DATABASE_URL and VERITAS_TEST_OBJECTS_URL are not set: start tests/services.sh (tests/all.sh does)");
    const name = `veritas_e2e_${process.pid}_${Date.now()}`;
    const created = spawnSync("psql", [admin, "-qc", `CREATE DATABASE ${name}`], { encoding: "utf8" });
    assert.equal(created.status, 0, `cannot create the team database: ${created.stderr}`);
    database = `${admin.slice(0, admin.lastIndexOf("/"))}/${name}`;
    objects = `${store.replace(/\/$/, "")}/${name}`;

    dataDir = mkdtempSync(join(tmpdir(), "veritas-e2e-team-"));
    veritasDb(["demo", "--audits", "6"]);
    const pushed = JSON.parse(veritasDb(["push", "--to", database, "--objects", objects, "--json"]));
    assert.equal(pushed.audits, 6);

    if (!process.env.DISPLAY) {
      children.push(spawn("Xvfb", [":98", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"], { stdio: "ignore" }));
      process.env.DISPLAY = ":98";
      await new Promise((r) => setTimeout(r, 800));
    }
    const profile = mkdtempSync(join(tmpdir(), "veritas-e2e-team-profile-"));
    env = {
      ...process.env,
      VERITAS_DATABASE_URL: database,
      VERITAS_OBJECTS_URL: objects,
      WEBKIT_DISABLE_DMABUF_RENDERER: "1",
      XDG_DATA_HOME: join(profile, "data"),
      XDG_CONFIG_HOME: join(profile, "config"),
      XDG_CACHE_HOME: join(profile, "cache"),
    };
    children.push(spawn(DRIVER, ["--port", "4464", "--native-port", "4465"], { env, stdio: ["ignore", "inherit", "inherit"] }));
    await waitPort(4464, 20000);
    browser = await remote({
      hostname: "127.0.0.1",
      port: 4464,
      logLevel: "error",
      capabilities: { "tauri:options": { application: APP } },
    });
  });

  after(async () => {
    if (browser) await browser.deleteSession().catch(() => {});
    for (const c of children.reverse()) c.kill("SIGTERM");
  });

  it("says it is on the team database and lists the pushed audits with their facets", async () => {
    const badge = await until("the team badge", async () => {
      const b = await browser.$('[data-testid="team-badge"]');
      return (await b.isExisting()) ? b : null;
    });
    assert.match(await badge.getText(), /Team: postgres:\/\//);
    assert.equal(await browser.$('[data-testid="data-folder"]').isExisting(), false, "no local data folder to show");
    await until("the list", async () => (await browser.$('[data-testid="result-count"]').getText()).trim() === "6 audits");
    await browser.$('[data-testid="facet-status"] input[data-value="completed"]').click();
    const completed = JSON.parse(veritasDb(["list", "--json", "--status", "completed"])).length;
    await until("the status facet", async () => (await browser.$('[data-testid="result-count"]').getText()).trim() === `${completed} audit${completed === 1 ? "" : "s"}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    spawnSync("import", ["-window", "root", join(ARTIFACTS, "team-01-list.png")], { env: process.env });
  });

  it("shows an audit's screenshots from the object store", async () => {
    const list = JSON.parse(veritasDb(["list", "--json"]));
    const shop = list.find((a) => a.screenshots_count >= 3);
    const detail = JSON.parse(veritasDb(["show", shop.id, "--json"]));
    const present = detail.screenshots.filter((s) => s.exists).length;
    await browser.execute((id) => (location.hash = `#/audits/${id}/screenshots`), shop.id);
    await browser.execute(() => document.querySelectorAll('[data-testid="thumb"] img').forEach((i) => (i.loading = "eager")));
    let images = [];
    const loaded = await until("thumbnails from the store", async () => {
      images = await browser.execute(() =>
        [...document.querySelectorAll('[data-testid="thumb"] img')].map((i) => {
          i.loading = "eager";
          return { src: i.src, loaded: i.complete && i.naturalWidth > 0 };
        }));
      const n = images.filter((i) => i.loaded).length;
      return n === present ? n : 0;
    }).catch(async (e) => {
      spawnSync("import", ["-window", "root", join(ARTIFACTS, "team-02-failed.png")], { env: process.env });
      // Say what the page asked for and what the scheme answered.
      const answers = await browser.executeAsync((srcs, done) => {
        Promise.all(srcs.map((s) => fetch(s).then((r) => r.text().then((t) => `${r.status} ${t.slice(0, 200)}`), (err) => String(err)))).then(done);
      }, images.map((i) => i.src));
      throw new Error(`${e.message}; images ${JSON.stringify(images)}; answers ${JSON.stringify(answers)}`);
    });
    assert.equal(loaded, present);
    spawnSync("import", ["-window", "root", join(ARTIFACTS, "team-02-screenshots.png")], { env: process.env });
  });

  it("shows a verdict made in another window on the same team database within about a second", async () => {
    // A second app, as a second analyst's, through a driver of its own.
    children.push(spawn(DRIVER, ["--port", "4466", "--native-port", "4467"], { env, stdio: ["ignore", "inherit", "inherit"] }));
    await waitPort(4466, 20000);
    const other = await remote({
      hostname: "127.0.0.1",
      port: 4466,
      logLevel: "error",
      capabilities: { "tauri:options": { application: APP } },
    });
    try {
      const list = JSON.parse(veritasDb(["list", "--json"]));
      const audit = list.find((a) => a.findings_count >= 2);
      assert.ok(audit, "a pushed audit with findings");
      for (const b of [browser, other]) {
        await b.execute((id) => (location.hash = `#/audits/${id}/findings`), audit.id);
        await until("the findings", async () => (await b.$$('[data-testid="finding"]')).length === audit.findings_count);
      }
      await other.$('[data-testid="triage-author"]').setValue("second analyst");
      const first = (await other.$$('[data-testid="finding"]'))[0];
      await first.$('[data-testid="triage-open"]').click();
      await first.$('[data-testid="triage-verdict-select"]').selectByAttribute("value", "false_positive");
      await first.$('[data-testid="triage-save"]').click();
      const saved = Date.now();
      // The first window was told by PostgreSQL (LISTEN/NOTIFY) and shows the finding hidden.
      // (Findings of the same problem on the site share the verdict: one or more hide.)
      const hidden = await until("the other window's verdict", async () => {
        const m = /Hiding (\d+) finding/.exec(await browser.$('[data-testid="hidden-by-triage"]').getText());
        const shown = (await browser.$$('[data-testid="finding"]')).length;
        return m && shown + Number(m[1]) === audit.findings_count ? Number(m[1]) : null;
      });
      assert.ok(hidden >= 1);
      console.log(`# a verdict in one window showed in the other after ${Date.now() - saved} ms`);
      spawnSync("import", ["-window", "root", join(ARTIFACTS, "team-03-two-windows.png")], { env: process.env });
      // Stored once in the team database, by the second analyst.
      const team = ["--database", database, "--objects", objects];
      const authors = JSON.parse(veritasDb([...team, "show", audit.id, "--json"])).findings.flatMap((f) =>
        JSON.parse(veritasDb([...team, "triage", "--history", "--json", String(f.id)])).map((d) => `${d.author} ${d.verdict}`));
      assert.deepEqual([...new Set(authors)], ["second analyst false_positive"]);
    } finally {
      await other.deleteSession().catch(() => {});
    }
  });

  it("opens the team profile chosen last, and switches to the data folder and back", async () => {
    // A person's settings: a profile for the team database, chosen last time; and a default
    // data folder of their own with 2 audits. No URL, profile or folder on the command line.
    const home = mkdtempSync(join(tmpdir(), "veritas-e2e-switch-"));
    const settings = join(home, "config", "veritas-viewer");
    mkdirSync(settings, { recursive: true });
    writeFileSync(join(settings, "profiles.json"), JSON.stringify({ profiles: { team: { database, objects } } }));
    const choiceFile = join(settings, "storage.json");
    writeFileSync(choiceFile, JSON.stringify({ storage: "profile", name: "team" }));
    const folder = join(home, "data", "veritas-viewer");
    const demo = spawnSync(CLI, ["--data-dir", folder, "demo", "--audits", "2"], { encoding: "utf8" });
    assert.equal(demo.status, 0, demo.stderr);
    const own = { ...env, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data"), XDG_CACHE_HOME: join(home, "cache") };
    for (const v of ["VERITAS_DATABASE_URL", "VERITAS_OBJECTS_URL", "VERITAS_PROFILE", "VERITAS_PROFILES", "VERITAS_DATA_DIR", "USE_DB_PERSISTENCE"]) delete own[v];
    children.push(spawn(DRIVER, ["--port", "4468", "--native-port", "4469"], { env: own, stdio: ["ignore", "inherit", "inherit"] }));
    await waitPort(4468, 20000);
    const app = await remote({
      hostname: "127.0.0.1",
      port: 4468,
      logLevel: "error",
      capabilities: { "tauri:options": { application: APP } },
    });
    const count = async () => (await app.$('[data-testid="result-count"]').getText()).trim();
    const switcher = () => app.$('[data-testid="storage-switcher"]');
    try {
      await until("the remembered team profile", async () =>
        (await switcher().isExisting()) && (await switcher().getValue()) === "profile:team" && (await count()) === "6 audits");
      assert.ok(await app.$('[data-testid="team-badge"]').isExisting(), "the team badge");

      await switcher().selectByAttribute("value", "");
      await until("the data folder's audits", async () =>
        (await app.$('[data-testid="data-folder"]').isExisting()) && (await count()) === "2 audits");
      assert.equal(await switcher().getValue(), "");
      assert.equal(await app.$('[data-testid="team-badge"]').isExisting(), false);
      assert.deepEqual(JSON.parse(readFileSync(choiceFile, "utf8")), { storage: "folder" }, "the folder, remembered");
      mkdirSync(ARTIFACTS, { recursive: true });
      spawnSync("import", ["-window", "root", join(ARTIFACTS, "team-04-switched-to-folder.png")], { env: process.env });

      await switcher().selectByAttribute("value", "profile:team");
      await until("the team's audits again", async () =>
        (await app.$('[data-testid="team-badge"]').isExisting()) && (await count()) === "6 audits");
      assert.deepEqual(JSON.parse(readFileSync(choiceFile, "utf8")), { storage: "profile", name: "team" });
    } finally {
      await app.deleteSession().catch(() => {});
    }
  });
});
