// Narratives are markdown written by a language model; they may contain HTML, <script>
// included. They are rendered with marked and sanitised with DOMPurify: no HTML from the
// database ever executes.
import DOMPurify from "dompurify";
import { marked } from "marked";

export function renderMarkdown(source: string | null | undefined): string {
  if (!source) return "";
  const html = marked.parse(source, { async: false, gfm: true });
  return DOMPurify.sanitize(html, {
    // Nothing that loads or runs: no images from the web, no forms, no frames, no styles.
    FORBID_TAGS: ["img", "style", "form", "input", "button", "iframe", "object", "embed", "svg", "math"],
    FORBID_ATTR: ["style"],
  });
}
