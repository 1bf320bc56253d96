import { describe, expect, it } from "vitest";
import {
  ReplicateFile,
  ReplicatePrediction,
  ReplicatePredictionPage,
  ReplicateProblem,
} from "@/lib/shared/replicate-objects";

/** Shapes as real Replicate answers them (the fields the recorded traffic shows), not as a tidy fake would. */
const ID = "hdwst0bb05rgp0cf0p29mzk2am";
const urls = {
  get: `https://api.replicate.com/v1/predictions/${ID}`,
  cancel: `https://api.replicate.com/v1/predictions/${ID}/cancel`,
};
const created = {
  id: ID,
  model: "stability-ai/sdxl",
  version: "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b",
  input: { prompt: "a corgi", seed: 42069 },
  logs: "",
  error: null,
  status: "starting",
  created_at: "2023-08-16T18:57:08.36078514Z",
  urls,
};

describe("Replicate's prediction", () => {
  it("accepts an old create answer without output, data_removed or urls.web", () => {
    expect(ReplicatePrediction.parse(created).status).toBe("starting");
  });

  it("accepts a cancel answer with logs: null and a list entry without logs, keeping unknown fields", () => {
    const canceled = { ...created, status: "canceled", logs: null, output: null, webhook_completed: null, metrics: { predict_time: 0.128 } };
    expect(ReplicatePrediction.parse(canceled)).toMatchObject({ logs: null, webhook_completed: null });
    const { logs, ...entry } = created;
    expect(ReplicatePrediction.parse({ ...entry, source: "web" }).logs).toBeUndefined();
  });

  it("accepts removed data: input, output and logs null", () => {
    const removed = { ...created, status: "succeeded", data_removed: true, input: null, output: null, logs: null };
    expect(ReplicatePrediction.parse(removed).data_removed).toBe(true);
  });

  it("rejects what is not a prediction: an unknown status, no id, a urls.get that is not a URL, a bad date", () => {
    expect(ReplicatePrediction.safeParse({ ...created, status: "queued" }).success).toBe(false);
    const { id, ...noId } = created;
    expect(ReplicatePrediction.safeParse(noId).success).toBe(false);
    expect(ReplicatePrediction.safeParse({ ...created, urls: { ...urls, get: "predictions/x" } }).success).toBe(false);
    expect(ReplicatePrediction.safeParse({ ...created, created_at: "yesterday" }).success).toBe(false);
  });
});

describe("Replicate's list page", () => {
  it("has nullable next/previous URLs and prediction results", () => {
    const page = { next: "https://api.replicate.com/v1/predictions?cursor=cD0y", previous: null, results: [created] };
    expect(ReplicatePredictionPage.parse(page).results).toHaveLength(1);
    expect(ReplicatePredictionPage.safeParse({ ...page, results: [{ id: "x" }] }).success).toBe(false);
    expect(ReplicatePredictionPage.safeParse({ ...page, next: "?cursor=1" }).success).toBe(false);
  });
});

describe("Replicate's problem", () => {
  it("accepts the real 404 and 429 without a title, and a 422 with invalid_fields", () => {
    expect(ReplicateProblem.parse({ detail: "Not found.", status: 404 }).title).toBeUndefined();
    expect(ReplicateProblem.parse({ detail: "Request was throttled. Expected available in 1 second.", status: 429 }).status).toBe(429);
    const invalid = {
      title: "Input validation failed",
      detail: "- input: prompt is required\n",
      status: 422,
      invalid_fields: [{ type: "required", field: "input", description: "prompt is required" }],
    };
    expect(ReplicateProblem.parse(invalid).invalid_fields).toHaveLength(1);
  });

  it("rejects a body without detail or with a status that is not an error", () => {
    expect(ReplicateProblem.safeParse({ title: "Oops", status: 500 }).success).toBe(false);
    expect(ReplicateProblem.safeParse({ detail: "fine", status: 200 }).success).toBe(false);
  });
});

describe("Replicate's file", () => {
  const file = {
    id: "NGZiNmY2YzQtMThhZi00ZjcyLWFhZjktODg4NTY0NWNlMDEy",
    name: "input.png",
    content_type: "image/png",
    size: 69420,
    checksums: { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    metadata: {},
    created_at: "2024-08-22T12:26:51.079Z",
    expires_at: "2024-08-23T12:26:51.079Z",
    urls: { get: "https://api.replicate.com/v1/files/NGZiNmY2YzQtMThhZi00ZjcyLWFhZjktODg4NTY0NWNlMDEy" },
  };

  it("accepts an upload answer and rejects one without urls.get or size", () => {
    expect(ReplicateFile.parse(file).urls.get).toMatch(/^https:/);
    expect(ReplicateFile.safeParse({ ...file, urls: {} }).success).toBe(false);
    const { size, ...noSize } = file;
    expect(ReplicateFile.safeParse(noSize).success).toBe(false);
  });
});
