// How the backend's values are shown: its labels and colours, so its users recognise them.
// The tables themselves come from Rust (bindings/vocabulary.ts, generated).
import { PHASES as PHASES_TABLE, RISK_LEVELS, SEVERITIES as SEVERITIES_TABLE } from "../bindings/vocabulary";

/** Risk level -> label and colour, from the core's table. */
export const RISK: Record<string, { label: string; colour: string }> = Object.fromEntries(
  RISK_LEVELS.map((r) => [r.value, { label: r.label, colour: r.colour }]),
);

/** Phase -> label, from the core's table. */
export const PHASES: Record<string, string> = Object.fromEntries(PHASES_TABLE.map((p) => [p.value, p.label]));

/** Severities, most severe first (the order the findings view groups them in). */
export const SEVERITIES = [...SEVERITIES_TABLE].reverse();

export const SEVERITY_COLOUR: Record<string, string> = {
  critical: "#DC2626",
  high: "#F97316",
  medium: "#F59E0B",
  low: "#64748B",
};

/** Signal weights in the backend's trust formula, heaviest first. */
export const SIGNAL_WEIGHTS: Record<string, number> = {
  graph: 0.25,
  visual: 0.2,
  security: 0.2,
  structural: 0.15,
  temporal: 0.1,
  meta: 0.1,
};

export function riskLabel(level: string | null | undefined): string {
  if (!level) return "Unknown";
  return RISK[level]?.label ?? humanise(level);
}

export function riskColour(level: string | null | undefined): string {
  return (level && RISK[level]?.colour) || "#94A3B8";
}

/** `quick_scan` → `Quick scan`. */
export function humanise(value: string | null | undefined): string {
  if (!value) return "—";
  const s = value.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function score(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

// One formatter each, made on first use: `toLocaleString` with options builds a new
// Intl.DateTimeFormat on every call, which costs milliseconds in WebKit (a list of 50 rows
// formats 100 times).
let dateTimeFormat: Intl.DateTimeFormat | undefined;
let shortDateFormat: Intl.DateTimeFormat | undefined;

/** A stored ISO time as local date and time, `—` when absent, the text itself if unparsable. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (dateTimeFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" })).format(d);
}

/** Compact, for table cells: `Nov 23, 05:46`. */
export function shortDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (shortDateFormat ??= new Intl.DateTimeFormat(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  })).format(d);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}
