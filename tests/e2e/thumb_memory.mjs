// The app's peak memory while its screenshots tab asks for eight thumbnails of
// 100-megapixel screenshots at once (issue 16: before the decode budget this took the app to
// 3.3 GB). The release app in a real window (Xvfb), driven through tauri-driver as in
// app.e2e.mjs, on a data folder holding one audit with eight 10000x10000 PNGs (made with
// ImageMagick, ingested with `veritas-db ingest`). Prints one JSON line of figures; the
// figures go in RELIABILITY.md. Not part of the test command (it takes a minute or two).
//
//   node tests/e2e/thumb_memory.mjs        (after `cargo build --release -p veritas-viewer -p veritas-db`)
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { remote } from "webdriverio";

const ROOT = resolve(import.meta.dirname, "../..");
const APP = process.env.VERITAS_APP ?? join(ROOT, "target/release/veritas-viewer");
const CLI = process.env.VERITAS_CLI ?? join(ROOT, "target/release/veritas-db");
const DRIVER = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? "/root", ".cargo/bin/tauri-driver");
const SHOTS = 8;
const SIDE = 10000;
const ID = "vrts_memory01";

function must(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
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

/** Fields of /proc/PID/status in kB (VmRSS, VmHWM), or null when the process is gone. */
function status(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))?.[1] ?? 0);
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Every process and its parent. */
function processes() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      let exe = "";
      try { exe = readlinkSync(`/proc/${name}/exe`); } catch { /* a kernel thread */ }
      out.push({ pid: Number(name), ppid, exe });
    }
    catch { /* gone meanwhile */ }
  }
  return out;
}

/** The app's pid and those of its descendants (WebKit's web and network processes). */
function appTree() {
  const all = processes();
  const app = all.find((p) => p.exe === APP);
  if (!app) return null;
  const tree = [app.pid];
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]).map((p) => p.pid));
  return { app: app.pid, tree };
}

const children = [];
let browser;
try {
  for (const f of [APP, CLI]) if (!existsSync(f)) throw new Error(`build it first: ${f}`);
  const work = mkdtempSync(join(tmpdir(), "veritas-thumb-memory-"));
  const data = join(work, "data");
  // Eight distinct 100-megapixel PNGs (a PNG is decoded whole: the worst case for memory).
  const events = [{ type: "audit_start", audit_id: ID, url: "https://huge-shots.example/", tier: "deep_forensic" }];
  for (let i = 0; i < SHOTS; i++) {
    const file = join(work, `shot${i}.png`);
    must(spawnSync("convert", ["-size", `${SIDE}x${SIDE}`, `xc:#e${i}e${i}e${i}`, "-fill", "#333", "-pointsize", "600",
      "-draw", `text 500,1500 'shot ${i}'`, `png24:${file}`], { encoding: "utf8" }), "convert");
    events.push({ type: "screenshot", url: file, label: "fullpage", index: i, data: readFileSync(file).toString("base64") });
  }
  events.push({ type: "audit_result", result: { trust_score: 50, risk_level: "suspicious", narrative: "Eight huge screenshots." } });
  events.push({ type: "audit_complete", audit_id: ID });
  must(spawnSync(CLI, ["--data-dir", data, "ingest", "-"], { input: events.map((e) => JSON.stringify(e)).join("\n") + "\n", encoding: "utf8" }), "ingest");

  if (!process.env.DISPLAY) {
    children.push(spawn("Xvfb", [":97", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"], { stdio: "ignore" }));
    process.env.DISPLAY = ":97";
    await new Promise((r) => setTimeout(r, 800));
  }
  const profile = mkdtempSync(join(tmpdir(), "veritas-thumb-memory-profile-"));
  const env = {
    ...process.env,
    VERITAS_DATA_DIR: data,
    WEBKIT_DISABLE_DMABUF_RENDERER: "1",
    XDG_DATA_HOME: join(profile, "data"),
    XDG_CONFIG_HOME: join(profile, "config"),
    XDG_CACHE_HOME: join(profile, "cache"),
  };
  children.push(spawn(DRIVER, ["--port", "4454", "--native-port", "4455"], { env, stdio: "ignore" }));
  await waitPort(4454, 20000);
  browser = await remote({ hostname: "127.0.0.1", port: 4454, logLevel: "error", capabilities: { "tauri:options": { application: APP } } });
  await browser.waitUntil(async () => (await browser.$('[data-testid="result-count"]').isExisting()), { timeout: 30000 });
  const found = appTree();
  if (!found) throw new Error(`no process runs ${APP}`);
  const before = status(found.app);

  // The screenshots tab asks for all eight thumbnails at once.
  const started = Date.now();
  await browser.execute((id) => (location.hash = `#/audits/${id}/screenshots`), ID);
  let peakTree = 0;
  let loaded = 0;
  // The strip's images load lazily; those off the window's edge are made eager, so all eight
  // are asked for together, as a wider window would.
  await browser.waitUntil(async () => (await browser.$('[data-testid="thumb"] img').isExisting()), { timeout: 30000 });
  await browser.execute(() => document.querySelectorAll('[data-testid="thumb"] img').forEach((i) => (i.loading = "eager")));
  while (Date.now() - started < 600_000) {
    const tree = appTree()?.tree ?? [];
    peakTree = Math.max(peakTree, tree.map((p) => status(p)?.rss ?? 0).reduce((a, b) => a + b, 0));
    loaded = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="thumb"] img')].filter((i) => i.complete && i.naturalWidth > 0).length);
    if (loaded === SHOTS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = status(found.app);
  const mb = (kb) => Math.round(kb / 102.4) / 10;
  console.log(JSON.stringify({
    thumbnails: SHOTS,
    loaded,
    megapixels_each: (SIDE * SIDE) / 1e6,
    seconds_to_all_thumbnails: (Date.now() - started) / 1000,
    app_process_peak_mb: mb(after.hwm),
    app_process_rss_before_mb: mb(before.rss),
    app_and_webkit_peak_rss_sampled_mb: mb(peakTree),
  }));
  if (loaded !== SHOTS) process.exitCode = 1;
} finally {
  if (browser) await browser.deleteSession().catch(() => {});
  for (const c of children.reverse()) c.kill("SIGTERM");
}
