import { describe, expect, it } from "vitest";
import { downloadPath, fetchOutputFile, fileNameOf } from "@/lib/browser/download";
import { expectedOutputKind } from "@/lib/browser/output-view";
import { replicatePageUrl, reportedSeed, shortVersion } from "@/lib/browser/run-facts";
import { toRunEvent } from "@/lib/browser/route-answer";
import { runReducer, IDLE_RUN } from "@/lib/browser/run-state";
import { seedBody } from "@/tests/support/seed-form";

describe("the seed the model used", () => {
  it("is read from the logs as models print it", () => {
    expect(reportedSeed("Using seed: 1234\n  0%|          | 0/30", null)).toBe(1234);
    expect(reportedSeed("Random seed set to 99\n", null)).toBe(99);
    expect(reportedSeed("seed=7 steps=30", null)).toBe(7);
  });

  it("is the output's own seed field when it has one", () => {
    expect(reportedSeed("Using seed: 1", { image: "https://x/y.png", seed: 5 })).toBe(5);
  });

  it("is unknown when neither says", () => {
    expect(reportedSeed("step 3 of 30", ["https://x/y.png"])).toBeNull();
    expect(reportedSeed(null, null)).toBeNull();
    expect(reportedSeed("seeds: many", null)).toBeNull();
  });
});

describe("the prediction's page on Replicate", () => {
  it("is linked only when it is on replicate.com and the app talks to the real Replicate", () => {
    const prediction = { urls: { web: "https://replicate.com/p/abc123" } };
    expect(replicatePageUrl(prediction, false)).toBe("https://replicate.com/p/abc123");
    expect(replicatePageUrl(prediction, true)).toBeNull();
    expect(replicatePageUrl({ urls: { web: "javascript:alert(1)" } }, false)).toBeNull();
    expect(replicatePageUrl({ urls: { web: "https://replicate.com.evil.test/p/1" } }, false)).toBeNull();
    expect(replicatePageUrl({}, false)).toBeNull();
  });

  it("shortens a version id as Replicate's pages do", () => {
    expect(shortVersion("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa")).toBe("5c7d5dc6");
    expect(shortVersion("owner/name:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa")).toBe("5c7d5dc6");
    expect(shortVersion(null)).toBeNull();
    // Official models answer "hidden": nothing worth showing.
    expect(shortVersion("hidden")).toBeNull();
  });
});

describe("the empty output area fits the model's kind of output", () => {
  it("by the output schema", () => {
    expect(
      expectedOutputKind({
        type: "array",
        items: { type: "string" },
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
      }),
    ).toBe("text");
    expect(expectedOutputKind({ type: "string" })).toBe("text");
    expect(expectedOutputKind({ type: "string", format: "uri" })).toBe("files");
    expect(expectedOutputKind({ type: "array", items: { type: "string", format: "uri" } })).toBe("files");
    expect(expectedOutputKind({ type: "object" })).toBe("json");
    expect(expectedOutputKind(null)).toBe("unknown");
  });
});

describe("downloads through the app", () => {
  it("name the route by handle and index, and save under the name the route gives", () => {
    expect(downloadPath("abc.DEF_-", 2)).toBe("/api/ai/replicate/download/abc.DEF_-/2");
    expect(fileNameOf('attachment; filename="abc123-0.png"')).toBe("abc123-0.png");
    expect(fileNameOf("attachment; filename=abc123-1.wav")).toBe("abc123-1.wav");
    expect(fileNameOf('attachment; filename="../../etc/passwd"')).toBe(".._.._etc_passwd");
    expect(fileNameOf(null)).toBeNull();
  });

  it("send the access key, and turn an error answer into the route's words", async () => {
    const seen: RequestInit[] = [];
    const fake = (async (_url: string, init: RequestInit) => {
      seen.push(init);
      return new Response(new Uint8Array([1, 2, 3]), { headers: { "content-disposition": 'attachment; filename="p1-0.png"' } });
    }) as unknown as typeof fetch;
    const file = await fetchOutputFile("p1.mac", 0, { headers: { Authorization: "Bearer k" }, fetch: fake });
    expect(file.name).toBe("p1-0.png");
    expect(new Uint8Array(await file.blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(seen[0].headers).toEqual({ Authorization: "Bearer k" });

    const gone = (async () =>
      Response.json(
        { title: "Output removed", detail: "Replicate deletes it.", status: 410 },
        { status: 410 },
      )) as unknown as typeof fetch;
    await expect(fetchOutputFile("p1.mac", 0, { fetch: gone })).rejects.toThrow("Output removed: Replicate deletes it.");
  });
});

describe("the run's timer and handle", () => {
  it("counts a re-attached run from when it began, never from the future", () => {
    expect(runReducer(IDLE_RUN, { type: "attach", now: 10_000, startedAt: 2_300 }).startedAt).toBe(2_300);
    expect(runReducer(IDLE_RUN, { type: "attach", now: 10_000, startedAt: 12_000 }).startedAt).toBe(10_000);
    expect(runReducer(IDLE_RUN, { type: "attach", now: 10_000 }).startedAt).toBe(10_000);
  });

  it("shows a run opened after it ended with the time it took, not the time since it began", () => {
    const opened = runReducer(IDLE_RUN, {
      type: "attach",
      now: Date.parse("2026-01-01T02:00:00Z"),
      startedAt: Date.parse("2026-01-01T00:00:00Z"),
    });
    const prediction = {
      id: "abc",
      status: "succeeded" as const,
      created_at: "2026-01-01T00:00:00.000Z",
      completed_at: "2026-01-01T00:00:09.800Z",
    };
    const ended = runReducer(opened, {
      type: "finish",
      report: { kind: "succeeded", prediction },
      now: Date.parse("2026-01-01T02:00:01Z"),
    });
    expect(ended.finishedAt! - ended.startedAt!).toBe(9_800);
  });

  it("keeps the handle, the values it was started with and the prediction's created_at", () => {
    let state = runReducer(IDLE_RUN, { type: "start", body: seedBody({ prompt: "a cat" }), values: { prompt: "a cat" }, now: 1 });
    state = runReducer(state, { type: "handle", handle: "abc.mac" });
    state = runReducer(state, {
      type: "event",
      event: { type: "status", id: "abc", status: "starting", createdAt: "2026-01-01T00:00:00.000Z" },
    });
    expect(state).toMatchObject({
      handle: "abc.mac",
      values: { prompt: "a cat" },
      createdAt: Date.parse("2026-01-01T00:00:00.000Z"),
    });
  });
});

describe("a status event", () => {
  it("carries the prediction's created_at when the answer had one (the create's does)", () => {
    expect(toRunEvent("status", { id: "p1", status: "starting", created_at: "2026-01-01T00:00:00Z" })).toEqual({
      type: "status",
      id: "p1",
      status: "starting",
      createdAt: "2026-01-01T00:00:00Z",
    });
    expect(toRunEvent("status", { id: "p1", status: "processing" })).toEqual({ type: "status", id: "p1", status: "processing" });
  });
});
