import { describe, expect, it } from "vitest";
import type { RunReport } from "@/lib/browser/run-report";
import { IDLE_RUN, runReducer, type RunAction, type RunState } from "@/lib/browser/run-state";
import { seedBody } from "@/tests/support/seed-form";

const run = (...actions: RunAction[]): RunState => actions.reduce(runReducer, IDLE_RUN);
const start: RunAction = { type: "start", body: seedBody({ prompt: "a cat" }), now: 1000 };
const progress = (percentage: number, current: number): RunAction => ({
  type: "event",
  event: { type: "progress", progress: { percentage, current, total: 30, pass: 1 } },
});
const finish = (report: RunReport): RunAction => ({ type: "finish", report, now: 5000 });

describe("run state", () => {
  it("follows status, progress, logs and output events while running", () => {
    const state = run(
      start,
      { type: "event", event: { type: "status", id: "p1", status: "processing" } },
      progress(40, 12),
      { type: "event", event: { type: "logs", text: "a\n" } },
      { type: "event", event: { type: "logs", text: "b\n" } },
      { type: "event", event: { type: "output", output: "Hel" } },
    );
    expect(state).toMatchObject({
      phase: "running",
      predictionId: "p1",
      status: "processing",
      logs: "a\nb\n",
      output: "Hel",
      startedAt: 1000,
    });
    expect(state.progress?.percentage).toBe(40);
  });

  it("takes output, logs and id from the final prediction (also when it came as plain JSON)", () => {
    const prediction = { id: "p9", status: "succeeded" as const, output: ["https://o/1.png"], logs: "whole log\n" };
    const state = run(start, progress(40, 12), finish({ kind: "succeeded", prediction }));
    expect(state).toMatchObject({
      phase: "finished",
      finishedAt: 5000,
      predictionId: "p9",
      status: "succeeded",
      output: prediction.output,
      logs: "whole log\n",
    });
    expect(state.progress).toMatchObject({ percentage: 100, current: 30 });
  });

  it("keeps the streamed progress where a failure stopped it", () => {
    const prediction = { id: "p1", status: "failed" as const, error: "boom" };
    const state = run(start, progress(40, 12), finish({ kind: "failed", message: "The model failed: boom", prediction }));
    expect(state.progress?.percentage).toBe(40);
  });

  it("ignores events and answers that arrive after Cancel finished the run", () => {
    const canceled = run(start, finish({ kind: "canceled", message: "Canceled" }));
    const late = [progress(80, 24), finish({ kind: "succeeded", prediction: { id: "p1", status: "succeeded" } })].reduce(
      runReducer,
      canceled,
    );
    expect(late).toBe(canceled);
    expect(late.status).toBe("canceled");
  });

  it("re-attaches to a prediction by handle, with no body sent by this page; its id comes with the first status", () => {
    const state = run({ type: "attach", now: 2000 });
    expect(state).toMatchObject({ phase: "running", body: null, predictionId: null, startedAt: 2000, logs: "" });
    expect(runReducer(state, { type: "event", event: { type: "status", id: "p7", status: "processing" } }).predictionId).toBe(
      "p7",
    );
  });

  it("replaces the logs with the first logs event after following begins again", () => {
    const logs = (text: string): RunAction => ({ type: "event", event: { type: "logs", text } });
    const attached: RunAction = { type: "event", event: { type: "attached", handle: "p1.mac" } };
    const state = run(start, attached, logs("a\n"), logs("b\n"), attached, logs("a\nb\nc\n"), logs("d\n"));
    expect(state.logs).toBe("a\nb\nc\nd\n");
  });

  it("rebuilds the logs from the final prediction, even when they came twice", () => {
    const logs: RunAction = { type: "event", event: { type: "logs", text: "whole log\n" } };
    const prediction = { id: "p1", status: "succeeded" as const, logs: "whole log\n" };
    expect(run(start, logs, logs, finish({ kind: "succeeded", prediction })).logs).toBe("whole log\n");
  });

  it("says a cancel is on its way until the cancel's answer finishes the run", () => {
    const canceling = run(start, { type: "canceling" });
    expect(canceling).toMatchObject({ phase: "running", canceling: true });
    const prediction = { id: "p1", status: "canceled" as const };
    expect(run(start, { type: "canceling" }, finish({ kind: "canceled", message: "Canceled", prediction }))).toMatchObject({
      phase: "finished",
      canceling: false,
      status: "canceled",
    });
    expect(run({ type: "canceling" })).toBe(IDLE_RUN);
  });

  it("starts a new run from a clean slate", () => {
    const state = run(start, progress(40, 12), finish({ kind: "canceled", message: "Canceled" }), { ...start, now: 9000 });
    expect(state).toMatchObject({ phase: "running", progress: null, report: null, logs: "", startedAt: 9000 });
  });
});
