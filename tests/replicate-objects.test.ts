import { describe, expect, it } from "vitest";
import { ReplicateFile, ReplicatePrediction, ReplicatePredictionPage, ReplicateProblem } from "@/dev/simulator/spec-objects";
import {
  isFileStreamUrl,
  readCreatedPrediction,
  readFile,
  readPrediction,
  readPredictionPage,
  streamUrlOf,
} from "@/lib/shared/replicate-objects";

/**
 * Two readings of Replicate's objects: the spec's full shape, which the simulator must answer
 * (dev/simulator/spec-objects.ts), and the route's lenient reading of what it uses
 * (lib/shared/replicate-objects.ts). Shapes as real Replicate answers them.
 */
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

describe("the simulator's contract: Replicate's prediction", () => {
  it("accepts an old create answer without output, data_removed or urls.web", () => {
    expect(ReplicatePrediction.parse(created).status).toBe("starting");
  });

  it("accepts a cancel answer with logs: null and a list entry without logs, keeping unknown fields", () => {
    const canceled = {
      ...created,
      status: "canceled",
      logs: null,
      output: null,
      webhook_completed: null,
      metrics: { predict_time: 0.128 },
    };
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

describe("the simulator's contract: Replicate's list page", () => {
  it("has nullable next/previous URLs and prediction results", () => {
    const page = { next: "https://api.replicate.com/v1/predictions?cursor=cD0y", previous: null, results: [created] };
    expect(ReplicatePredictionPage.parse(page).results).toHaveLength(1);
    expect(ReplicatePredictionPage.safeParse({ ...page, results: [{ id: "x" }] }).success).toBe(false);
    expect(ReplicatePredictionPage.safeParse({ ...page, next: "?cursor=1" }).success).toBe(false);
  });
});

describe("the simulator's contract: Replicate's problem", () => {
  it("accepts the real 404 and 429 without a title, and a 422 with invalid_fields", () => {
    expect(ReplicateProblem.parse({ detail: "Not found.", status: 404 }).title).toBeUndefined();
    expect(ReplicateProblem.parse({ detail: "Request was throttled. Expected available in 1 second.", status: 429 }).status).toBe(
      429,
    );
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

describe("the simulator's contract: Replicate's file", () => {
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

describe("the route reads a prediction by its id and status alone", () => {
  it("passes on, as sent, answers without model, with null urls.stream and metrics.predict_time, a new source", () => {
    const { model, ...old } = { ...created, model: "x" };
    const odd = { ...old, urls: { ...urls, stream: null }, metrics: { predict_time: null }, source: "playground", deployment: 7 };
    expect(readPrediction(odd)).toBe(odd);
  });

  it("reads a status it does not know as a prediction (waited on like a running one)", () => {
    expect(readPrediction({ ...created, status: "queued" })?.status).toBe("queued");
  });

  it("refuses only what has no readable id or status", () => {
    const { id, ...noId } = created;
    expect(readPrediction(noId)).toBeNull();
    expect(readPrediction({ ...created, status: null })).toBeNull();
    expect(readPrediction({ ...created, id: 42 })).toBeNull();
    expect(readPrediction([created])).toBeNull();
    expect(readPrediction("<html>")).toBeNull();
  });

  it("follows a create answer with a readable id whatever its status", () => {
    expect(readCreatedPrediction({ ...created, status: undefined })?.id).toBe(ID);
    expect(readCreatedPrediction({ status: "starting" })).toBeNull();
  });

  it("turns the stream off, not the answer, when urls.stream is unusable", () => {
    expect(
      streamUrlOf({ ...created, urls: { ...urls, stream: "https://stream.replicate.com/v1/streams/abc" } } as never),
    ).toMatch(/^https:/);
    for (const odd of [null, "", "not a url", 7])
      expect(streamUrlOf({ ...created, urls: { ...urls, stream: odd } } as never)).toBeUndefined();
    expect(streamUrlOf({ ...created, urls: "https://x" } as never)).toBeUndefined();
    expect(streamUrlOf({ id: ID, status: "starting" })).toBeUndefined();
  });
});

describe("the route reads a list page entry by entry", () => {
  it("drops only the entries without a readable id or status", () => {
    const page = readPredictionPage({
      next: null,
      previous: null,
      results: [created, { id: "x" }, { ...created, id: "b", model: null, created_at: 5 }],
    });
    expect(page?.results.map((entry) => entry.id)).toEqual([ID, "b"]);
    expect(page?.dropped).toBe(1);
  });

  it("refuses a page without a results array, and reads an unusable next as no next", () => {
    expect(readPredictionPage({ next: null, results: null })).toBeNull();
    expect(readPredictionPage({ next: "?cursor=1", results: [] })?.next).toBeNull();
  });
});

describe("file streams are told by their URL", () => {
  it("a path under /v1/files/ is a file stream; anything else is text", () => {
    expect(isFileStreamUrl("https://streaming-api.svc.us.c.replicate.net/v1/files/abc")).toBe(true);
    expect(isFileStreamUrl("https://stream.replicate.com/v1/streams/abc")).toBe(false);
    expect(isFileStreamUrl("nonsense")).toBe(false);
  });
});

describe("the route reads an uploaded file by its id and urls.get", () => {
  it("needs nothing else", () => {
    expect(readFile({ id: "f1", urls: { get: "https://api.replicate.com/v1/files/f1" } })?.id).toBe("f1");
    expect(readFile({ id: "f1", urls: {} })).toBeNull();
  });
});
