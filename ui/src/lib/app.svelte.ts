// App-wide state: the current project, the list of projects, and a tick that advances
// whenever the database changed (another process wrote, or this app did).
import { listen } from "@tauri-apps/api/event";
import type { ProjectInfo } from "../bindings/ProjectInfo";
import type { AppInfo } from "../bindings/AppInfo";
import { CHANGED_EVENT } from "../bindings/vocabulary";
import { api, CommandError } from "./api";

export const app = $state({
  project: "default",
  projects: [] as ProjectInfo[],
  info: null as AppInfo | null,
  /** A message a person can act on, shown in the banner. */
  error: null as string | null,
  notice: null as string | null,
  changes: 0,
});

/**
 * A localStorage key for what the app remembers (last view, project, filters). Kept per data
 * folder: what was true of one folder's audits means nothing for another's.
 */
export function memoryKey(name: string): string {
  return `veritas.${app.info?.data_dir ?? ""}.${name}`;
}

export function setProject(name: string): void {
  app.project = name;
  localStorage.setItem(memoryKey("project"), name);
}

/** Show a failure as a sentence, never only in the console. */
export function report(e: unknown, doing: string): void {
  const message = e instanceof CommandError ? e.message : String(e);
  app.error = `Could not ${doing}: ${message}`;
}

export async function refreshProjects(): Promise<void> {
  try {
    app.projects = await api.projects();
  } catch (e) {
    report(e, "load the projects");
  }
}

/** Listen for database changes; bursts of commits (an ingest) are folded into one tick. */
export async function startLiveUpdates(): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  await listen(CHANGED_EVENT, () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      app.changes += 1;
      void refreshProjects();
    }, 150);
  });
}
