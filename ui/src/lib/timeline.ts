// The event timeline: phases with start, end and duration, and the log entries.
import type { AuditEvent } from "../bindings/AuditEvent";
import type { JsonValue } from "../bindings/serde_json/JsonValue";

export interface Phase {
  phase: string;
  start: string | null;
  end: string | null;
  seconds: number | null;
  status: "running" | "done" | "error";
  error: string | null;
}

export interface LogEntry {
  at: string | null;
  phase: string | null;
  level: string;
  agent: string | null;
  message: string;
  type: string;
}

function field(data: JsonValue | null | undefined, key: string): JsonValue | undefined {
  if (data && typeof data === "object" && !Array.isArray(data)) return (data as Record<string, JsonValue>)[key];
  return undefined;
}

function text(v: JsonValue | undefined): string | null {
  return typeof v === "string" ? v : v === undefined || v === null ? null : JSON.stringify(v);
}

/** Phases in the order they started. An error marks its phase even if it later completed. */
export function phases(events: AuditEvent[]): Phase[] {
  const byName = new Map<string, Phase>();
  for (const e of events) {
    const name = text(field(e.data, "phase"));
    if (!name || !["phase_start", "phase_complete", "phase_error"].includes(e.event_type)) continue;
    let p = byName.get(name);
    if (!p) {
      p = { phase: name, start: null, end: null, seconds: null, status: "running", error: null };
      byName.set(name, p);
    }
    if (e.event_type === "phase_start") p.start ??= e.timestamp;
    else {
      p.end = e.timestamp;
      if (e.event_type === "phase_error") {
        p.status = "error";
        p.error = text(field(e.data, "error")) ?? text(field(e.data, "message"));
      } else if (p.status !== "error") p.status = "done";
    }
  }
  for (const p of byName.values()) {
    if (p.start && p.end) p.seconds = (Date.parse(p.end) - Date.parse(p.start)) / 1000;
  }
  return [...byName.values()];
}

/** A line of text for an event that carries no message of its own. */
function describe(e: AuditEvent): string {
  const d = e.data;
  switch (e.event_type) {
    case "screenshot":
      return `${text(field(d, "label")) ?? "screenshot"} #${text(field(d, "index")) ?? "?"}`;
    case "site_type":
      return `classified as ${text(field(d, "site_type")) ?? "?"}`;
    case "finding": {
      const f = field(d, "finding");
      return `${text(field(f, "severity")) ?? ""} ${text(field(f, "pattern_type")) ?? "finding"}`.trim();
    }
    case "security_result":
      return `${text(field(d, "module")) ?? "security"} result`;
    case "stats_update":
      return "counters updated";
    default:
      return e.event_type.replace(/_/g, " ");
  }
}

/** Every event as a log line, attributed to the phase it happened in. */
export function logEntries(events: AuditEvent[]): LogEntry[] {
  let current: string | null = null;
  return events.map((e) => {
    const phase = text(field(e.data, "phase"));
    if (e.event_type === "phase_start" && phase) current = phase;
    const level =
      text(field(e.data, "level")) ??
      (e.event_type === "phase_error" || e.event_type === "audit_error" ? "error" : "info");
    return {
      at: e.timestamp,
      phase: phase ?? current,
      level,
      agent: text(field(e.data, "agent")),
      message: text(field(e.data, "message")) ?? text(field(e.data, "error")) ?? describe(e),
      type: e.event_type,
    };
  });
}
