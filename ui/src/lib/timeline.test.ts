import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../bindings/AuditEvent";
import { logEntries, phases } from "./timeline";

const ev = (id: number, event_type: string, data: Record<string, unknown>, timestamp: string): AuditEvent =>
  ({ id, event_type, data: { type: event_type, ...data }, timestamp }) as AuditEvent;

const events = [
  ev(1, "phase_start", { phase: "init", pct: 0 }, "2026-02-23T10:00:00Z"),
  ev(2, "log_entry", { agent: "init", message: "hello", level: "info" }, "2026-02-23T10:00:01Z"),
  ev(3, "phase_complete", { phase: "init", pct: 10 }, "2026-02-23T10:00:04Z"),
  ev(4, "phase_start", { phase: "graph" }, "2026-02-23T10:00:05Z"),
  ev(5, "phase_error", { phase: "graph", error: "WHOIS timeout" }, "2026-02-23T10:00:35Z"),
  ev(6, "phase_start", { phase: "judge" }, "2026-02-23T10:00:40Z"),
];

describe("timeline", () => {
  it("derives phases with durations, errors marked, unfinished ones running", () => {
    const p = phases(events);
    expect(p.map((x) => [x.phase, x.status, x.seconds])).toEqual([
      ["init", "done", 4],
      ["graph", "error", 30],
      ["judge", "running", null],
    ]);
    expect(p[1]?.error).toBe("WHOIS timeout");
  });
  it("describes events that carry no message", () => {
    const log = logEntries([
      ev(1, "screenshot", { label: "fullpage", index: 2, data: null }, "2026-02-23T10:00:00Z"),
      ev(2, "finding", { finding: { pattern_type: "countdown_timer", severity: "high" } }, "2026-02-23T10:00:01Z"),
    ]);
    expect(log.map((l) => l.message)).toEqual(["fullpage #2", "high countdown_timer"]);
  });
  it("attributes log entries to the phase they happened in", () => {
    const log = logEntries(events);
    expect(log[1]).toMatchObject({ phase: "init", level: "info", message: "hello", agent: "init" });
    expect(log[4]).toMatchObject({ phase: "graph", level: "error", message: "WHOIS timeout" });
  });
});
