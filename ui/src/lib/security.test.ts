import { describe, expect, it } from "vitest";
import { headerChecks, phishing } from "./security";

describe("security results", () => {
  it("reads a checklist given as a list", () => {
    const checks = headerChecks({
      security_headers: { checks: [{ header: "CSP", passed: false, severity: "high", recommendation: "Add one" }] },
    });
    expect(checks).toEqual([{ name: "CSP", passed: false, severity: "high", recommendation: "Add one" }]);
  });
  it("reads a checklist given as a map, and tolerates odd shapes", () => {
    expect(headerChecks({ security_headers: { checks: { hsts: { passed: true }, csp: false, note: "x" } } })).toEqual([
      { name: "hsts", passed: true, severity: null, recommendation: null },
      { name: "csp", passed: false, severity: null, recommendation: null },
    ]);
    expect(headerChecks(null)).toEqual([]);
    expect(headerChecks([])).toEqual([]);
    expect(headerChecks({ security_headers: "broken" })).toEqual([]);
  });
  it("reads phishing flags", () => {
    expect(phishing({ phishing: { is_phishing: true, confidence: 0.9, flags: ["lookalike", { x: 1 }] } })).toEqual({
      isPhishing: true,
      confidence: 0.9,
      flags: ["lookalike", '{"x":1}'],
    });
    expect(phishing({})).toBeNull();
  });
});
