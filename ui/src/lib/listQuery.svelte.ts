// The audit list's query, as one model: what is asked (filter, sort, direction), what came
// back (rows, the next page's cursor, the facet counts), and which answer is current. Every
// change of what is asked goes through a method that asks again, so the view declares no
// dependencies by hand; only the latest answer is ever applied (see Latest), so a slow
// answer to an old filter never paints over a newer one.
import type { AuditFilter } from "../bindings/AuditFilter";
import type { AuditRow } from "../bindings/AuditRow";
import type { Direction } from "../bindings/Direction";
import type { Facets } from "../bindings/Facets";
import type { ListRequest } from "../bindings/ListRequest";
import type { SortKey } from "../bindings/SortKey";
import { EMPTY_FILTER } from "../bindings/vocabulary";
import { api } from "./api";
import { memoryKey, report } from "./app.svelte";
import { Latest } from "./latest";

/** Rows asked for a page. */
export const PAGE = 200;

/** Columns sorted A to Z first; the others (numbers, dates) start with the largest. */
const ASCENDING_FIRST: SortKey[] = ["url", "site_type", "audit_tier"];

/** What the query remembers per data folder and project. */
interface Saved {
  filter: AuditFilter;
  sort: SortKey;
  direction: Direction;
}

/** What a first-page load did, for the view to keep its place. */
export interface Loaded {
  request: ListRequest;
  /** Whether it was a refresh in place (keeping the rows shown). */
  keep: boolean;
}

export class ListQuery {
  filter: AuditFilter = $state(EMPTY_FILTER);
  sort: SortKey = $state("created");
  direction: Direction = $state("desc");
  // Raw: pages are replaced whole, never edited in place, so no deep proxy is needed.
  rows: AuditRow[] = $state.raw([]);
  cursor: string | null = $state(null);
  facets: Facets | null = $state(null);
  loading = $state(false);

  readonly project: string;
  readonly #pages = new Latest();
  readonly #facets = new Latest();

  constructor(project: string) {
    this.project = project;
    const saved = JSON.parse(localStorage.getItem(this.#key()) ?? "null") as Saved | null;
    this.filter = { ...EMPTY_FILTER, ...(saved?.filter ?? {}) };
    this.sort = saved?.sort ?? "created";
    this.direction = saved?.direction ?? "desc";
  }

  #key(): string {
    return memoryKey(`list.${this.project}`);
  }

  #save(): void {
    const saved: Saved = { filter: this.filter, sort: this.sort, direction: this.direction };
    localStorage.setItem(this.#key(), JSON.stringify(saved));
  }

  /**
   * Ask for the first page again; with `keep` (a live refresh) as many rows as are shown
   * now. Resolves to what was loaded, or null if a newer request superseded it.
   */
  async load(keep = false): Promise<Loaded | null> {
    const ticket = this.#pages.take();
    const limit = keep ? Math.min(Math.max(this.rows.length, 50), 500) : PAGE;
    const request: ListRequest = { filter: this.filter, sort: this.sort, direction: this.direction, limit, after: null };
    this.loading = true;
    try {
      const page = await api.listAudits(this.project, request);
      if (!ticket.current()) return null;
      this.rows = page.audits;
      this.cursor = page.next_cursor;
      // Facet counts cover every match and can take longer than a page on a big
      // database: asked once the rows are in, so they never hold the rows up (nor compete
      // with their query), and shown when they arrive, if still current.
      // On a big database the first answer may hold estimates (labelled as such); the
      // exact counts are asked for next and replace them, unless a newer request came.
      void this.#facets.run(
        () => api.auditFacets(this.project, request.filter),
        (f) => {
          this.facets = f;
          if (f.estimated.length > 0) {
            void this.#facets.run(
              () => api.auditFacets(this.project, request.filter, true),
              (exact) => (this.facets = exact),
              (e) => report(e, "count the audits"),
            );
          }
        },
        (e) => report(e, "count the audits"),
      );
      return { request, keep };
    } catch (e) {
      if (ticket.current()) report(e, "load the audit list");
      return null;
    } finally {
      if (ticket.current()) this.loading = false;
    }
  }

  /** Append the next page, if there is one and nothing is loading. */
  async loadMore(): Promise<void> {
    if (!this.cursor || this.loading) return;
    // A ticket of the same series as first pages: one asked meanwhile makes this page stale.
    const ticket = this.#pages.take();
    this.loading = true;
    try {
      const page = await api.listAudits(this.project, {
        filter: this.filter,
        sort: this.sort,
        direction: this.direction,
        limit: PAGE,
        after: this.cursor,
      });
      if (!ticket.current()) return;
      this.rows = [...this.rows, ...page.audits];
      this.cursor = page.next_cursor;
    } catch (e) {
      if (ticket.current()) report(e, "load more audits");
    } finally {
      if (ticket.current()) this.loading = false;
    }
  }

  /** Show the audits `filter` lets through, from the top. */
  setFilter(filter: AuditFilter): Promise<Loaded | null> {
    this.filter = filter;
    this.#save();
    return this.load();
  }

  /** Search for `text` (empty: no search). */
  setSearch(text: string): Promise<Loaded | null> {
    return this.setFilter({ ...this.filter, search: text.trim() || null });
  }

  /** Sort by `key`; the same key again turns the order round. */
  sortBy(key: SortKey): Promise<Loaded | null> {
    if (this.sort === key) this.direction = this.direction === "desc" ? "asc" : "desc";
    else {
      this.sort = key;
      this.direction = ASCENDING_FIRST.includes(key) ? "asc" : "desc";
    }
    this.#save();
    return this.load();
  }
}
