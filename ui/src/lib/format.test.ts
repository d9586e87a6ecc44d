import { describe, expect, it } from "vitest";
import { duration, humanise, riskColour, riskLabel, score } from "./format";

describe("format", () => {
  it("uses the backend's risk labels and colours", () => {
    expect(riskLabel("probably_safe")).toBe("Probably Safe");
    expect(riskColour("likely_fraudulent")).toBe("#EF4444");
    expect(riskLabel(null)).toBe("Unknown");
    expect(riskLabel("brand_new_level")).toBe("Brand new level");
  });
  it("shows missing values as a dash, never as null or NaN", () => {
    expect(score(null)).toBe("—");
    expect(duration(undefined)).toBe("—");
    expect(humanise(null)).toBe("—");
    expect(score(42.456)).toBe("42.5");
    expect(duration(125)).toBe("2 min 5 s");
  });
});
