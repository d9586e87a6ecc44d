// Security results arrive as JSON of any shape (each module writes its own). The header
// checklist and the phishing flags are pulled out in a readable form; everything stays
// available as raw JSON.
import type { JsonValue } from "../bindings/serde_json/JsonValue";

export interface HeaderCheck {
  name: string;
  passed: boolean | null;
  severity: string | null;
  recommendation: string | null;
}

export interface Phishing {
  isPhishing: boolean | null;
  confidence: number | null;
  flags: string[];
}

type Obj = Record<string, JsonValue>;
const isObj = (v: JsonValue | undefined | null): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: JsonValue | undefined): string | null => (typeof v === "string" ? v : null);

function check(name: string, v: JsonValue | undefined): HeaderCheck {
  if (typeof v === "boolean") return { name, passed: v, severity: null, recommendation: null };
  const o = isObj(v) ? v : {};
  const passed = o.passed ?? o.pass ?? o.present ?? o.ok;
  return {
    name: str(o.header) ?? str(o.name) ?? name,
    passed: typeof passed === "boolean" ? passed : null,
    severity: str(o.severity),
    recommendation: str(o.recommendation) ?? str(o.fix) ?? str(o.message),
  };
}

/** The security-headers checklist, from `checks` as a list or a map, or the module as a map. */
export function headerChecks(results: JsonValue | null): HeaderCheck[] {
  if (!isObj(results)) return [];
  const module = results.security_headers ?? results.headers;
  if (!isObj(module)) return [];
  const checks = module.checks ?? module;
  if (Array.isArray(checks)) return checks.map((c, i) => check(`check ${i + 1}`, c));
  if (isObj(checks))
    return Object.entries(checks)
      .filter(([, v]) => isObj(v) || typeof v === "boolean")
      .map(([k, v]) => check(k, v));
  return [];
}

export function phishing(results: JsonValue | null): Phishing | null {
  if (!isObj(results) || !isObj(results.phishing)) return null;
  const p = results.phishing;
  const flags = Array.isArray(p.flags) ? p.flags.map((f) => (typeof f === "string" ? f : JSON.stringify(f))) : [];
  const is = p.is_phishing ?? p.detected;
  return {
    isPhishing: typeof is === "boolean" ? is : null,
    confidence: typeof p.confidence === "number" ? p.confidence : null,
    flags,
  };
}
