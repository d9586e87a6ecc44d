// The list query model with a fake core whose answers arrive when the test says: a slow
// answer to an old filter must never replace the answer to the new one.
import { describe, expect, it, vi } from "vitest";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRow } from "../bindings/AuditRow";
import type { AuditRowPage } from "../bindings/AuditRowPage";
import type { Facets } from "../bindings/Facets";
import type { ListRequest } from "../bindings/ListRequest";

const pending = vi.hoisted(() => [] as { request: ListRequest; resolve: (p: AuditRowPage) => void }[]);
const facetCalls = vi.hoisted(() => [] as { filter: AuditFilter; exact: boolean; resolve: (f: Facets) => void }[]);

vi.mock("./api", async (importOriginal) => ({
  ...(await importOriginal<typeof import("./api")>()),
  api: {
    listAudits: (_project: string, request: ListRequest) =>
      new Promise<AuditRowPage>((resolve) => pending.push({ request, resolve })),
    auditFacets: (_project: string, filter: AuditFilter, exact = false) =>
      new Promise<Facets>((resolve) => facetCalls.push({ filter, exact, resolve })),
  },
}));

const { ListQuery } = await import("./listQuery.svelte");

function row(id: string): AuditRow {
  return {
    id, url: `https://${id}.example/`, status: "completed", audit_tier: null, trust_score: 50, risk_level: null,
    site_type: null, created_at: null, findings_count: 0, screenshots_count: 0, changes: [], unreadable: [],
  };
}

function facets(total: number, estimated: string[]): Facets {
  return {
    total, status: [], risk_level: [], audit_tier: [], site_type: [], severity: [], pattern_type: [], mitre: [], cwe: [],
    green_flags: [], changes: [], hidden_findings: 0, estimated,
  };
}

describe("ListQuery", () => {
  it("shows estimated facets, then the exact ones, and never an older filter's", async () => {
    pending.length = 0;
    facetCalls.length = 0;
    const q = new ListQuery("p_facets");
    const loaded = q.load();
    pending[0]?.resolve({ audits: [row("a")], next_cursor: null });
    await loaded;
    expect(facetCalls.map((c) => c.exact)).toEqual([false]);
    facetCalls[0]?.resolve(facets(1000, ["total", "severity"]));
    await vi.waitFor(() => expect(facetCalls.length).toBe(2));
    expect(q.facets?.estimated).toEqual(["total", "severity"]);
    expect(facetCalls[1]?.exact).toBe(true);

    // A new search before the exact counts of the old filter arrive.
    const next = q.setSearch("cookie");
    pending[1]?.resolve({ audits: [row("b")], next_cursor: null });
    await next;
    facetCalls[2]?.resolve(facets(5, []));
    facetCalls[1]?.resolve(facets(1234, []));
    await vi.waitFor(() => expect(q.facets?.total).toBe(5));
    await new Promise((r) => setTimeout(r, 0));
    expect(q.facets?.total).toBe(5);
    expect(facetCalls.length).toBe(3);
    pending.length = 0;
  });

  it("keeps the newer answer when the older one arrives last", async () => {
    const q = new ListQuery("p_stale");
    const first = q.load();
    const second = q.setSearch("cookie");
    expect(pending.map((p) => p.request.filter.search)).toEqual([null, "cookie"]);
    pending[1]?.resolve({ audits: [row("new")], next_cursor: null });
    pending[0]?.resolve({ audits: [row("old")], next_cursor: "c" });
    expect(await second).not.toBeNull();
    expect(await first).toBeNull();
    expect(q.rows.map((r) => r.id)).toEqual(["new"]);
    expect(q.cursor).toBeNull();
    expect(q.loading).toBe(false);
    pending.length = 0;
  });

  it("sorting the same column again turns the order round; text columns start A to Z", async () => {
    const q = new ListQuery("p_sort");
    void q.sortBy("url");
    expect([q.sort, q.direction]).toEqual(["url", "asc"]);
    void q.sortBy("url");
    expect([q.sort, q.direction]).toEqual(["url", "desc"]);
    void q.sortBy("score");
    expect([q.sort, q.direction]).toEqual(["score", "desc"]);
    expect(pending.map((p) => [p.request.sort, p.request.direction])).toEqual([
      ["url", "asc"],
      ["url", "desc"],
      ["score", "desc"],
    ]);
    pending.length = 0;
  });

  it("remembers filter and sort per project", () => {
    const q = new ListQuery("p_saved");
    void q.setFilter({ ...q.filter, risk_level: ["suspicious"] });
    const again = new ListQuery("p_saved");
    expect(again.filter.risk_level).toEqual(["suspicious"]);
    expect(new ListQuery("p_other").filter.risk_level).toEqual([]);
    pending.length = 0;
  });
});
