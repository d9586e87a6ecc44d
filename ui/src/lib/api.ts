// The one door to the Rust core. Every command is typed with the types generated from the
// Rust structs (src/bindings, by ts-rs); errors come back as the core's { code, message }.
import { invoke, Channel } from "@tauri-apps/api/core";
import type { Audit } from "../bindings/Audit";
import type { AuditChanges } from "../bindings/AuditChanges";
import type { AuditDetail } from "../bindings/AuditDetail";
import type { AuditTriage } from "../bindings/AuditTriage";
import type { FindingTriage } from "../bindings/FindingTriage";
import type { TriageDecision } from "../bindings/TriageDecision";
import type { TriageVerdict } from "../bindings/TriageVerdict";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRowPage } from "../bindings/AuditRowPage";
import type { Comparison } from "../bindings/Comparison";
import type { DemoReport } from "../bindings/DemoReport";
import type { DiffSummary } from "../bindings/DiffSummary";
import type { Error as CoreError } from "../bindings/Error";
import type { ErrorKind } from "../bindings/ErrorKind";
import type { ExportFormat } from "../bindings/ExportFormat";
import type { Facets } from "../bindings/Facets";
import type { ListRequest } from "../bindings/ListRequest";
import type { ProjectInfo } from "../bindings/ProjectInfo";
import type { AppInfo } from "../bindings/AppInfo";
import type { Progress } from "../bindings/Progress";

export type { ExportFormat };

/** A failed command, with the core's error code to branch on where it matters. */
export class CommandError extends Error {
  constructor(
    readonly code: ErrorKind | "ipc",
    message: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

function isCoreError(e: unknown): e is CoreError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** `invoke`, rethrowing failures as CommandError. */
export async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (isCoreError(e)) throw new CommandError(e.code, e.message);
    throw new CommandError("ipc", typeof e === "string" ? e : String(e));
  }
}

/**
 * Every command of the app, each named as its Tauri command (in camel case) and as the core's
 * `Store` method it calls (crates/core/src/api/). src-tauri/tests/commands_agree.rs checks
 * that the names agree.
 */
export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  /** Switch to team profile `profile`, or to the data folder when null; remembered for the
   * next start. Nothing changes when it cannot be opened (the error says why). */
  switchStorage: (profile: string | null) => call<AppInfo>("switch_storage", { profile }),
  projects: () => call<ProjectInfo[]>("projects"),
  listAudits: (project: string, request: ListRequest) =>
    call<AuditRowPage>("list_audits", { project, request }),
  /** Facet counts; without `exact`, counts past the core's time budget come as estimates
   * (named in `estimated`). A newer call from this window cancels this one. */
  auditFacets: (project: string, filter: AuditFilter, exact = false) =>
    call<Facets>("audit_facets", { project, filter, exact }),
  getAudit: (project: string, id: string) => call<AuditDetail>("get_audit", { project, id }),
  auditHistory: (project: string, url: string) => call<Audit[]>("audit_history", { project, url }),
  compareAudits: (project: string, base: string, other: string) =>
    call<Comparison>("compare_audits", { project, base, other }),
  screenshotDiff: (project: string, beforeAudit: string, before: number, afterAudit: string, after: number) =>
    call<DiffSummary>("screenshot_diff", { project, before_audit: beforeAudit, before, after_audit: afterAudit, after }),
  auditChanges: (project: string, id: string) => call<AuditChanges>("audit_changes", { project, id }),
  auditTriage: (project: string, id: string) => call<AuditTriage>("audit_triage", { project, id }),
  triageFinding: (
    project: string,
    findingId: number,
    verdict: TriageVerdict,
    note: string,
    author: string | null,
    onlyThisAudit: boolean,
  ) =>
    call<FindingTriage>("triage_finding", {
      project,
      finding_id: findingId,
      verdict,
      note,
      author,
      only_this_audit: onlyThisAudit,
    }),
  triageHistory: (project: string, findingId: number) =>
    call<TriageDecision[]>("triage_history", { project, finding_id: findingId }),
  deleteAudit: (project: string, id: string) => call<null>("delete_audit", { project, id }),
  exportAudit: (project: string, id: string, format: ExportFormat, includeHidden = false) =>
    call<string>("export_audit", { project, id, format, include_hidden: includeHidden }),
  revealPath: (path: string | null) => call<null>("reveal_path", { path }),
  openTechnique: (id: string) => call<null>("open_technique", { id }),
  loadDemo: (project: string, count: number, onProgress: (p: Progress) => void) => {
    const channel = new Channel<Progress>();
    channel.onmessage = onProgress;
    return call<DemoReport>("load_demo", { project, count, on_progress: channel });
  },
};

/** The URL of a screenshot (or, with `width`, its thumbnail) on the app's `shot:` scheme. */
export function shotUrl(project: string, auditId: string, screenshotId: number, width?: number): string {
  // WebKitGTK and macOS use scheme://localhost; Windows' WebView2 uses http://scheme.localhost.
  const base = navigator.userAgent.includes("Windows") ? "http://shot.localhost" : "shot://localhost";
  const path = [project, auditId, String(screenshotId)].map(encodeURIComponent).join("/");
  return `${base}/${path}${width ? `?w=${width}` : ""}`;
}

/** The `shot:` URL of the heat map of two screenshots' difference (before, then after). */
export function diffUrl(project: string, before: [string, number], after: [string, number]): string {
  const base = navigator.userAgent.includes("Windows") ? "http://shot.localhost" : "shot://localhost";
  const path = [project, "diff", before[0], String(before[1]), after[0], String(after[1])].map(encodeURIComponent).join("/");
  return `${base}/${path}`;
}
