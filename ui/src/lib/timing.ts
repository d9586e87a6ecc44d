// Start-up and IPC timing for the benchmark (crates/bench). Only when the app was started
// with VERITAS_VIEWER_TIMING=1 (app_info says so): once the first page of the audit list is
// on screen, say so (and again for the facet sidebar's first counts), then time 500 round trips of the list command and report them. The
// app prints each report on stdout for the benchmark to read (src-tauri/src/timing.rs).
import type { ListRequest } from "../bindings/ListRequest";
import { api, call } from "./api";
import { app } from "./app.svelte";

/** Round trips of the list command that are timed. */
export const IPC_CALLS = 500;

let reported = false;
let facetsReported = false;

function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

/** Call after the list's first page was rendered; does nothing unless timing is on. */
export async function listPainted(project: string, request: ListRequest): Promise<void> {
  if (reported || !app.info?.timing) return;
  reported = true;
  // The rows are in the DOM; the second frame callback runs once the first has been drawn.
  await nextFrame();
  await nextFrame();
  await call<null>("report_timing", { name: "list_painted", samples_ms: [performance.now()] });
  const samples: number[] = [];
  for (let i = 0; i < IPC_CALLS; i++) {
    const t = performance.now();
    await api.listAudits(project, request);
    samples.push(performance.now() - t);
  }
  await call<null>("report_timing", { name: "ipc_list", samples_ms: samples });
}

/** Call after the sidebar's first facet counts were rendered; does nothing unless timing is on. */
export async function facetsPainted(): Promise<void> {
  if (facetsReported || !app.info?.timing) return;
  facetsReported = true;
  await nextFrame();
  await nextFrame();
  await call<null>("report_timing", { name: "facets_painted", samples_ms: [performance.now()] });
}
