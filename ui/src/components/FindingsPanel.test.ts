// The findings view with triage: a false positive and an accepted risk are out of the view
// and out of the severity x confidence matrix by default, counted, one switch away; a
// conflict is never hidden; each finding is marked new / seen before / regressed.
import { afterEach, describe, expect, it } from "vitest";
import { flushSync, mount, tick, unmount } from "svelte";
import type { AuditChanges } from "../bindings/AuditChanges";
import type { AuditTriage } from "../bindings/AuditTriage";
import type { Finding } from "../bindings/Finding";
import type { FindingTriage } from "../bindings/FindingTriage";
import type { TriageDecision } from "../bindings/TriageDecision";
import type { TriageVerdict } from "../bindings/TriageVerdict";
import FindingsPanel from "./FindingsPanel.svelte";

function finding(id: number, pattern: string, severity: string): Finding {
  return {
    id, audit_id: "vrts_2", pattern_type: pattern, category: "dark_pattern", severity, confidence: 0.9,
    description: `${pattern} seen`, plain_english: null, screenshot_index: null, created_at: null, finding_key: null,
    embedding: null, embedding_model: null, embedding_model_version: null, cwe_id: null, cvss_score: null, run: 1,
    pattern_unrecorded: false, fingerprint: `dark_pattern|${pattern}|`,
  };
}

function decision(verdict: TriageVerdict, author: string): TriageDecision {
  return {
    id: `${author}-${verdict}`, url: "https://a.example", fingerprint: "fp", audit_id: null, verdict, note: "",
    author, decided_at: "2026-03-01 10:00:00.000000", origin_audit_id: "vrts_1", origin_finding_id: 1,
    replaces: [], recorded_at: "", imported_from: null,
  };
}

function judged(finding_id: number, verdict: TriageVerdict | null, conflict: TriageDecision[] = []): FindingTriage {
  const hidden = verdict === "false_positive" || verdict === "accepted_risk";
  return {
    finding_id, fingerprint: "fp", verdict, decision: verdict ? decision(verdict, "ana") : null, carried: verdict !== null,
    overridden: false, conflict, hidden,
  };
}

const findings = [
  finding(1, "countdown_timer", "high"),
  finding(2, "hidden_costs", "high"),
  finding(3, "confirmshaming", "low"),
  finding(4, "fake_social_proof", "low"),
];
const triage: AuditTriage = {
  audit_id: "vrts_2",
  hidden: 2,
  findings: [
    judged(1, "false_positive"),
    judged(2, "accepted_risk"),
    judged(3, null, [decision("confirmed", "ana"), decision("false_positive", "bo")]),
    judged(4, "confirmed"),
  ],
};
const changes: AuditChanges = {
  audit_id: "vrts_2",
  previous_audit_id: "vrts_1",
  findings: [
    { finding_id: 1, fingerprint: "a", change: "persisting" },
    { finding_id: 2, fingerprint: "b", change: "new" },
    { finding_id: 3, fingerprint: "c", change: "regressed" },
    { finding_id: 4, fingerprint: "d", change: "new" },
  ],
  fixed: [finding(9, "disguised_ad", "medium")],
};

const shown = () => [...document.querySelectorAll('[data-testid="finding"] header b')].map((b) => b.textContent);
/** The matrix's "All" column, per severity row. */
const matrixAll = () =>
  Object.fromEntries(
    [...document.querySelectorAll('[data-testid="severity-matrix"] tbody tr')].map((tr) => [
      tr.querySelector("th")?.textContent?.trim(),
      tr.querySelector("td:last-child")?.textContent,
    ]),
  );

describe("FindingsPanel", () => {
  let component: ReturnType<typeof mount> | undefined;
  afterEach(() => {
    if (component) unmount(component);
    document.body.innerHTML = "";
  });

  it("hides false positives and accepted risks from the view and the matrix, counted, and shows them on request", async () => {
    component = mount(FindingsPanel, { target: document.body, props: { findings, triage, changes, onScreenshot: () => {} } });
    await tick();
    expect(shown()).toEqual(["Confirmshaming", "Fake social proof"]);
    expect(matrixAll()).toMatchObject({ High: "0", Low: "2" });
    expect(document.querySelector('[data-testid="hidden-by-triage"]')?.textContent).toMatch(/Hiding 2 findings/);
    // A conflict stays in view, with both verdicts.
    expect(document.querySelector('[data-testid="triage-conflict"]')?.textContent).toMatch(/ana: Confirmed.*bo: False positive/s);

    const toggle = document.querySelector<HTMLInputElement>('[data-testid="show-hidden"]');
    toggle?.click();
    flushSync();
    expect(shown()).toHaveLength(4);
    expect(matrixAll()).toMatchObject({ High: "2", Low: "2" });
    expect(document.querySelector('[data-testid="hidden-by-triage"]')?.textContent).toMatch(/Showing 2 findings/);
  });

  it("marks each finding against the site's previous audit and lists what was fixed", async () => {
    component = mount(FindingsPanel, { target: document.body, props: { findings, triage: null, changes, onScreenshot: () => {} } });
    await tick();
    const marks = [...document.querySelectorAll<HTMLElement>('[data-testid="finding-change"]')].map((e) => e.dataset.change);
    expect(marks.sort()).toEqual(["new", "new", "persisting", "regressed"]);
    expect([...document.querySelectorAll('[data-testid="fixed-finding"]')].map((e) => e.textContent)).toEqual([
      expect.stringMatching(/Disguised ad/),
    ]);
    expect(document.querySelector('[data-testid="hidden-by-triage"]')).toBeNull();
  });
});
