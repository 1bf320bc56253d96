import { describe, expect, it } from "vitest";
import { describeAnswer, describeCancelAnswer, describeRequestFailure, invalidFieldsByName } from "@/lib/browser/run-report";

const prediction = (fields: Record<string, unknown>) => ({ id: "p1", status: "succeeded", output: null, error: null, ...fields });
const json = (httpStatus: number, body: unknown) => ({ httpStatus, body, streamed: false });
const streamed = (body: unknown) => ({ httpStatus: 200, body, streamed: true });

describe("describeAnswer", () => {
  it("is a success only for a succeeded prediction", () => {
    expect(describeAnswer(json(200, prediction({}))).kind).toBe("succeeded");
    expect(describeAnswer(streamed(prediction({}))).kind).toBe("succeeded");
  });

  it("says in words that Replicate deleted the output of a prediction whose data was removed", () => {
    const report = describeAnswer(json(200, prediction({ data_removed: true, output: null })));
    expect(report).toMatchObject({
      kind: "succeeded",
      notice: expect.stringMatching(/Replicate has deleted its output.*one hour/),
    });
    expect(describeAnswer(json(200, prediction({ data_removed: false, output: ["https://o/1.png"] })))).not.toHaveProperty(
      "notice",
    );
  });

  it("words a failed prediction with the model's own error", () => {
    expect(describeAnswer(json(500, prediction({ status: "failed", error: "CUDA out of memory" })))).toMatchObject({
      kind: "failed",
      message: "The model failed: CUDA out of memory",
    });
    expect(describeAnswer(streamed(prediction({ status: "failed", error: null }))).kind).toBe("failed");
  });

  it("says Canceled for a canceled prediction", () => {
    expect(describeAnswer(json(500, prediction({ status: "canceled" })))).toMatchObject({
      kind: "canceled",
      message: "Canceled",
    });
  });

  it("says how long it waited when the route's deadline canceled the prediction", () => {
    const error = "Prediction timed out after 60 s (REPLICATE_TIMEOUT_SECONDS); it was canceled.";
    for (const status of ["canceled", "failed", "processing"]) {
      expect(describeAnswer(json(500, prediction({ status, error })))).toMatchObject({
        kind: "timed-out",
        message: "Timed out after 60 s",
      });
    }
  });

  it("tells an aborted prediction (never ran) from a canceled one", () => {
    expect(describeAnswer(json(500, prediction({ status: "aborted" })))).toMatchObject({
      kind: "canceled",
      message: expect.stringMatching(/^Aborted/),
    });
  });

  it("lists invalid fields from a 400, whether it came as JSON or as the done event", () => {
    const problem = {
      title: "Invalid request body",
      detail: "1 field is invalid",
      status: 400,
      invalid_fields: [{ field: "seed", description: "must be >= 0" }],
    };
    const expected = {
      kind: "invalid",
      message: "Invalid request body",
      detail: "1 field is invalid",
      invalidFields: problem.invalid_fields,
    };
    expect(describeAnswer(json(400, problem))).toEqual(expected);
    expect(describeAnswer(streamed(problem))).toEqual(expected);
  });

  it("shows title and detail of other problems, with a title by status when Replicate sent none", () => {
    expect(describeAnswer(json(413, { title: "Body too large", detail: "Max 10 MiB", status: 413 }))).toMatchObject({
      kind: "problem",
      message: "Body too large",
      detail: "Max 10 MiB",
      status: 413,
    });
    expect(
      describeAnswer(json(429, { detail: "Request was throttled. Your rate limit resets in ~30s.", status: 429 })),
    ).toMatchObject({
      message: "Too many requests",
      detail: "Request was throttled. Your rate limit resets in ~30s.",
    });
    expect(describeAnswer(streamed({ title: "Replicate unreachable", detail: "ECONNREFUSED", status: 502 }))).toMatchObject({
      status: 502,
    });
  });

  it("shows a non-JSON answer with its HTTP status", () => {
    expect(describeAnswer(json(504, "upstream timed out"))).toMatchObject({
      kind: "problem",
      message: "Gateway timeout (HTTP 504)",
      detail: "upstream timed out",
    });
    expect(describeAnswer(json(500, ""))).toMatchObject({ detail: expect.stringMatching(/empty/) });
  });
});

describe("describeCancelAnswer", () => {
  it("says the prediction was canceled on Replicate, or how it ended when it ended first", () => {
    expect(describeCancelAnswer(json(200, prediction({ status: "canceled" })))).toMatchObject({
      kind: "canceled",
      message: "Canceled",
      detail: expect.stringMatching(/Replicate/),
    });
    expect(describeCancelAnswer(json(200, prediction({})))).toMatchObject({ kind: "succeeded" });
    expect(describeCancelAnswer(json(502, { title: "Replicate unreachable", status: 502 }))).toMatchObject({
      kind: "problem",
      status: 502,
    });
  });
});

describe("describeRequestFailure", () => {
  it("calls an abort Canceled and anything else a request that did not complete", () => {
    expect(describeRequestFailure(new DOMException("aborted", "AbortError"))).toMatchObject({
      kind: "canceled",
      message: "Canceled",
    });
    expect(describeRequestFailure(new TypeError("Failed to fetch"))).toMatchObject({
      kind: "problem",
      detail: "Failed to fetch",
    });
  });
});

describe("invalidFieldsByName", () => {
  it("places errors next to their form field and keeps the others apart", () => {
    const fields = [
      { field: "seed", description: "must be >= 0" },
      { field: "input.prompt", description: "is required" },
      { field: "extra", description: "unknown key" },
    ];
    // Under the field, its label names it already: the words alone, as a sentence.
    expect(invalidFieldsByName(fields, ["prompt", "seed"])).toEqual({
      byField: { seed: ["Must be >= 0"], prompt: ["Is required"] },
      unplaced: ["extra: unknown key"],
    });
  });
});
