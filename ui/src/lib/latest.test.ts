import { describe, expect, it } from "vitest";
import { Latest } from "./latest";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("Latest", () => {
  it("applies only the latest answer when an older one arrives last", async () => {
    const latest = new Latest();
    const first = deferred<string>();
    const second = deferred<string>();
    const applied: string[] = [];
    const a = latest.run(() => first.promise, (v) => applied.push(v), () => {});
    const b = latest.run(() => second.promise, (v) => applied.push(v), () => {});
    second.resolve("new");
    first.resolve("old");
    await Promise.all([a, b]);
    expect(applied).toEqual(["new"]);
  });

  it("drops the failure of a superseded request and reports the current one's", async () => {
    const latest = new Latest();
    const failed: unknown[] = [];
    const old = deferred<string>();
    const a = latest.run(() => old.promise, () => {}, (e) => failed.push(e));
    const b = latest.run(() => Promise.reject(new Error("current")), () => {}, (e) => failed.push(e));
    old.reject(new Error("stale"));
    await Promise.all([a, b]);
    expect(failed.map((e) => (e as Error).message)).toEqual(["current"]);
  });

  it("cancel makes an outstanding ticket stale", () => {
    const latest = new Latest();
    const t = latest.take();
    expect(t.current()).toBe(true);
    latest.cancel();
    expect(t.current()).toBe(false);
  });
});
