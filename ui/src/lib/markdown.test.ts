import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";

describe("renderMarkdown", () => {
  it("renders markdown", () => {
    const html = renderMarkdown("## Verdict\n\n**bold** and a [link](https://example.org)");
    expect(html).toContain("<h2>Verdict</h2>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain('href="https://example.org"');
  });
  it("removes scripts, event handlers, javascript: links and remote images", () => {
    const html = renderMarkdown(
      "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[x](javascript:alert(3)) <a href=\"#\" onclick=\"alert(4)\">y</a>",
    );
    expect(html).not.toMatch(/<script|onerror|onclick|javascript:|<img/i);
  });
  it("is empty for no narrative", () => {
    expect(renderMarkdown(null)).toBe("");
  });
});
