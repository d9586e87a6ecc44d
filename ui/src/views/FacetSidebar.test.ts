// The sidebar's triage switch: findings triaged away are counted beside a switch that asks for
// the severity and pattern counts with them; without any, the switch is not there.
import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { Facets } from "../bindings/Facets";
import { EMPTY_FILTER } from "../bindings/vocabulary";
import FacetSidebar from "./FacetSidebar.svelte";

function facets(hidden_findings: number): Facets {
  return {
    total: 4, status: [], risk_level: [], audit_tier: [], site_type: [],
    severity: [{ value: "high", count: 1 }], pattern_type: [{ value: "countdown_timer", count: 1 }],
    mitre: [], cwe: [], green_flags: [], changes: [], hidden_findings, estimated: [],
  };
}

describe("FacetSidebar", () => {
  let component: ReturnType<typeof mount> | undefined;
  afterEach(() => {
    if (component) unmount(component);
    document.body.innerHTML = "";
  });

  it("shows how many findings triage left out and asks again with them when switched", () => {
    const asked: AuditFilter[] = [];
    component = mount(FacetSidebar, {
      target: document.body,
      props: { facets: facets(3), filter: EMPTY_FILTER, onchange: (f: AuditFilter) => asked.push(f) },
    });
    flushSync();
    expect(document.querySelector('[data-testid="hidden-findings"]')?.textContent).toBe("3");
    const box = document.querySelector<HTMLInputElement>('[data-testid="include-hidden"]');
    expect(box?.checked).toBe(false);
    box?.click();
    flushSync();
    expect(asked).toHaveLength(1);
    expect(asked[0]?.include_hidden).toBe(true);
    expect(asked[0]?.severity).toEqual([]);
  });

  it("has no switch when triage hid nothing", () => {
    component = mount(FacetSidebar, {
      target: document.body,
      props: { facets: facets(0), filter: EMPTY_FILTER, onchange: () => {} },
    });
    flushSync();
    expect(document.querySelector('[data-testid="include-hidden"]')).toBeNull();
  });
});
