// Only the answer to the latest request counts: a view that asks again (a new filter, a
// live refresh, another audit opened) must never paint an older answer that arrives late.

/** Hands out tickets; a ticket is current until the next one is taken. */
export class Latest {
  #generation = 0;

  /** A new ticket: every earlier one is now stale. */
  take(): Ticket {
    const mine = ++this.#generation;
    return { current: () => mine === this.#generation };
  }

  /** Make every outstanding ticket stale without asking anything. */
  cancel(): void {
    this.#generation += 1;
  }

  /**
   * Run `request` and hand its result to `apply` only if no later request was made
   * meanwhile. Failures of a stale request are dropped too.
   */
  async run<T>(request: () => Promise<T>, apply: (value: T) => void, fail: (e: unknown) => void): Promise<void> {
    const ticket = this.take();
    try {
      const value = await request();
      if (ticket.current()) apply(value);
    } catch (e) {
      if (ticket.current()) fail(e);
    }
  }
}

export interface Ticket {
  /** Whether no later ticket has been taken. */
  current(): boolean;
}
