/**
 * Work after the answer (lib/server/after-answer.ts): outside a request scope it runs at once and
 * is tracked; it is bounded (its signal aborts, it is given up); it never rejects, a failure is logged.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { afterAnswer, keepAlive, settleAfterAnswer } from "@/lib/server/after-answer";

let warnings: string[];
beforeEach(() => {
  warnings = [];
  vi.spyOn(console, "warn").mockImplementation((line: string) => void warnings.push(line));
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("outside a request scope", () => {
  it("runs the work and settleAfterAnswer waits for it to end", async () => {
    let finished = false;
    let finish = () => {};
    afterAnswer("test work", () => new Promise<void>((resolve) => (finish = resolve)).then(() => void (finished = true)), {
      timeoutMs: 60_000,
    });
    const settled = settleAfterAnswer();
    finish();
    await settled;
    expect(finished).toBe(true);
  });

  it("keepAlive tracks a running promise the same way", async () => {
    let finish = () => {};
    let done = false;
    keepAlive(
      "a write",
      new Promise<void>((resolve) => (finish = resolve)).then(() => void (done = true)),
    );
    const settled = settleAfterAnswer();
    finish();
    await settled;
    expect(done).toBe(true);
  });
});

describe("bounded", () => {
  it("aborts the work's signal at the bound and gives it up, with one warning", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let signal: AbortSignal | undefined;
    afterAnswer("stuck work", (given) => ((signal = given), new Promise(() => {})), { timeoutMs: 2_000 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await settleAfterAnswer();
    expect(signal?.aborted).toBe(true);
    expect(warnings.join("\n")).toMatch(/"after_answer_expired".*stuck work: given up after 2000 ms/);
  });

  it("a failure never rejects: it is logged", async () => {
    afterAnswer(
      "failing work",
      async () => {
        throw new Error("store down");
      },
      { timeoutMs: 1_000 },
    );
    await settleAfterAnswer();
    expect(warnings.join("\n")).toMatch(/"after_answer_failed".*failing work: Error: store down/);
  });
});
