import { describe, expect, it } from "vitest";
import { parseRoute, routeHash } from "./route";

describe("routes", () => {
  it("parses deep links", () => {
    expect(parseRoute("#/audits/vrts_1a2b3c4d/screenshots/2")).toEqual({
      view: "audit",
      id: "vrts_1a2b3c4d",
      tab: "screenshots",
      screenshot: 2,
      compareWith: null,
    });
    expect(parseRoute("#/audits/vrts_1/history/vrts_0")).toMatchObject({ tab: "history", compareWith: "vrts_0" });
    expect(parseRoute("")).toEqual({ view: "list" });
    expect(parseRoute("#/audits/x/nonsense")).toMatchObject({ tab: "overview" });
    expect(parseRoute("#/audits/x/screenshots/-3")).toMatchObject({ screenshot: null });
  });
  it("round-trips", () => {
    for (const h of ["#/audits", "#/audits/a", "#/audits/a/findings", "#/audits/a/screenshots/4", "#/audits/a/history/b"]) {
      expect(routeHash(parseRoute(h))).toBe(h);
    }
  });
});
