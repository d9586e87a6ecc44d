// Deep links: every view has a hash route, e.g. #/audits/<id>/screenshots/<n>.

export type Tab = "overview" | "intelligence" | "findings" | "screenshots" | "timeline" | "history";

export type Route =
  | { view: "list" }
  | { view: "audit"; id: string; tab: Tab; screenshot: number | null; compareWith: string | null };

const TABS: Tab[] = ["overview", "intelligence", "findings", "screenshots", "timeline", "history"];

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "audits" || !parts[1]) return { view: "list" };
  const id = parts[1];
  const tab = (TABS as string[]).includes(parts[2] ?? "") ? (parts[2] as Tab) : "overview";
  const n = tab === "screenshots" && parts[3] !== undefined ? Number.parseInt(parts[3], 10) : Number.NaN;
  const compareWith = tab === "history" && parts[3] ? parts[3] : null;
  return { view: "audit", id, tab, screenshot: Number.isFinite(n) && n >= 0 ? n : null, compareWith };
}

export function routeHash(r: Route): string {
  if (r.view === "list") return "#/audits";
  let h = `#/audits/${encodeURIComponent(r.id)}`;
  if (r.tab !== "overview") h += `/${r.tab}`;
  if (r.tab === "screenshots" && r.screenshot !== null) h += `/${r.screenshot}`;
  if (r.tab === "history" && r.compareWith) h += `/${encodeURIComponent(r.compareWith)}`;
  return h;
}
