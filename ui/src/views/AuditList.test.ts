// The audit list in a DOM: a page arrives, its rows are drawn, and the virtual list settles.
// The core is replaced by a fake api (the real one needs the app's IPC); the virtualizer is the
// real one, counted, because an effect that re-runs on its own store update re-renders every
// row hundreds of times before the first paint (a start-up cost found with the benchmark).
import { afterEach, describe, expect, it, vi } from "vitest";
import { mount, tick, unmount } from "svelte";
import type { Readable } from "svelte/store";
import type { AuditRow } from "../bindings/AuditRow";
import type { AuditRowPage } from "../bindings/AuditRowPage";
import type { Facets } from "../bindings/Facets";

const counts = vi.hoisted(() => ({ virtualizerUpdates: 0, listCalls: 0 }));

vi.mock("@tanstack/svelte-virtual", async (importOriginal) => {
  const real = await importOriginal<typeof import("@tanstack/svelte-virtual")>();
  return {
    ...real,
    createVirtualizer: (...args: Parameters<typeof real.createVirtualizer>) => {
      const store = real.createVirtualizer(...args);
      const counted: Readable<unknown> = {
        subscribe: (run) =>
          store.subscribe((v) => {
            counts.virtualizerUpdates += 1;
            run(v);
          }),
      };
      return counted;
    },
  };
});

function audit(i: number): AuditRow {
  return {
    id: `vrts_${i}`, url: `https://site${i}.example/`, status: "completed", audit_tier: "quick_scan",
    trust_score: 50 + i, risk_level: "suspicious", site_type: "ecommerce",
    created_at: `2026-11-${String(10 + i).padStart(2, "0")}T10:00:00Z`, findings_count: i % 3,
    screenshots_count: 1, changes: i === 2 ? ["new"] : [], unreadable: [],
  };
}

vi.mock("../lib/api", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../lib/api")>()),
  api: {
    listAudits: async (): Promise<AuditRowPage> => {
      counts.listCalls += 1;
      return { audits: Array.from({ length: 16 }, (_, i) => audit(i)), next_cursor: null };
    },
    auditFacets: async (): Promise<Facets> => ({
      total: 16, status: [{ value: "completed", count: 16 }], risk_level: [], audit_tier: [],
      site_type: [], severity: [], pattern_type: [], mitre: [], cwe: [], green_flags: [], changes: [], hidden_findings: 0, estimated: [],
    }),
  },
}));

// jsdom lays nothing out and has no scrolling: give every element a window's size (the
// virtualizer draws only what fits its scroll element) and a no-op scrollTo.
Element.prototype.scrollTo ??= () => {};
Object.defineProperty(HTMLElement.prototype, "offsetHeight", { configurable: true, get: () => 600 });
Object.defineProperty(HTMLElement.prototype, "offsetWidth", { configurable: true, get: () => 1000 });

const { default: AuditList } = await import("./AuditList.svelte");
const { app } = await import("../lib/app.svelte");

async function settle() {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await tick();
  }
}

describe("AuditList", () => {
  let component: ReturnType<typeof mount> | undefined;
  afterEach(() => {
    if (component) unmount(component);
    document.body.innerHTML = "";
  });

  it("draws a page of rows with a handful of virtualizer updates, not a loop", async () => {
    component = mount(AuditList, { target: document.body });
    await settle();
    expect(app.error).toBeNull();
    expect(counts.listCalls).toBe(1);
    const rows = document.querySelectorAll('[data-testid="audit-row"]');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]?.getAttribute("data-id")).toBe("vrts_0");
    // Subscribing, the page's new count and a measurement or two: a few updates. An effect
    // that both reads and sets the store runs until Svelte gives up (about a thousand).
    expect(counts.virtualizerUpdates).toBeLessThan(10);
  });
});
