import { describe, expect, it } from "vitest";
import { readDraft, saveDraft, DRAFT_STORAGE_KEY } from "@/lib/browser/form-draft";
import { IDLE_RUN, runReducer, type RunState } from "@/lib/browser/run-state";
import {
  historyPatchOf,
  HISTORY_MAX_ENTRIES,
  HISTORY_STORAGE_KEY,
  KEPT_VALUE_MAX_CHARS,
  keptValues,
  outputSummary,
  readHistory,
  withEntry,
  withoutEntry,
  writeHistory,
  type HistoryEntry,
} from "@/lib/browser/run-history";
import { seedBody } from "@/tests/support/seed-form";

/** A Storage with a quota in characters, like a browser's (~5 MB). */
function memoryStorage(quota = Infinity) {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => {
      if (value.length > quota) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
      items.set(key, value);
    },
  };
}

const handle = (n: number) => `pred${String(n).padStart(4, "0")}.AAAAAAAAAAAAAAAAAAAAAA`;

describe("the run history", () => {
  it("puts a new run first, merges what is learnt later into its entry, and forgets nothing on an unknown field", () => {
    let entries = withEntry([], { handle: handle(1), createdAt: 1000, values: { prompt: "a cat" } });
    entries = withEntry(entries, { handle: handle(2), createdAt: 2000 });
    expect(entries.map((entry) => entry.id)).toEqual(["pred0002", "pred0001"]);
    entries = withEntry(entries, {
      handle: handle(1),
      status: "succeeded",
      values: undefined,
      files: ["https://replicate.delivery/a/out-0.png"],
    });
    expect(entries[1]).toMatchObject({
      id: "pred0001",
      status: "succeeded",
      values: { prompt: "a cat" },
      createdAt: 1000,
      files: ["https://replicate.delivery/a/out-0.png"],
    });
    expect(entries.map((entry) => entry.id)).toEqual(["pred0002", "pred0001"]);
  });

  it("answers the same list when a patch changes nothing (a progress tick writes nothing)", () => {
    const entries = withEntry([], { handle: handle(1), createdAt: 1000, status: "processing" });
    expect(withEntry(entries, { handle: handle(1), status: "processing" })).toBe(entries);
  });

  it("removes a run by its handle", () => {
    const entries = [handle(1), handle(2)].reduce<HistoryEntry[]>((list, h) => withEntry(list, { handle: h, createdAt: 1 }), []);
    expect(withoutEntry(entries, handle(1)).map((entry) => entry.handle)).toEqual([handle(2)]);
  });

  it("keeps the newest HISTORY_MAX_ENTRIES runs", () => {
    let entries: HistoryEntry[] = [];
    for (let n = 0; n < HISTORY_MAX_ENTRIES + 5; n += 1) entries = withEntry(entries, { handle: handle(n), createdAt: n });
    expect(entries).toHaveLength(HISTORY_MAX_ENTRIES);
    expect(entries[0].id).toBe(`pred${String(HISTORY_MAX_ENTRIES + 4).padStart(4, "0")}`);
  });

  it("survives a reload through storage, and reads junk as an empty list", () => {
    const storage = memoryStorage();
    const entries = withEntry([], { handle: handle(1), createdAt: 5, model: "owner/model", excerpt: "Hello" });
    expect(writeHistory(storage, entries)).toBe(true);
    expect(readHistory(storage)).toEqual(entries);
    for (const junk of ["not json", "{}", '[{"handle":1}]', "null"]) {
      storage.items.set(HISTORY_STORAGE_KEY, junk);
      expect(readHistory(storage)).toEqual([]);
    }
    expect(readHistory(null)).toEqual([]);
  });

  it("drops the oldest runs when the storage is full, rather than failing", () => {
    let entries: HistoryEntry[] = [];
    for (let n = 0; n < 20; n += 1) entries = withEntry(entries, { handle: handle(n), createdAt: n, excerpt: "x".repeat(150) });
    const storage = memoryStorage(JSON.stringify(entries.slice(0, 6)).length);
    expect(writeHistory(storage, entries)).toBe(true);
    const kept = readHistory(storage);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(entries.length);
    expect(kept).toEqual(entries.slice(0, kept.length));
  });

  it("keeps the form's values but not a picked file's data URL, naming its field", () => {
    const image = `data:image/png;base64,${"A".repeat(KEPT_VALUE_MAX_CHARS)}`;
    expect(keptValues({ prompt: "a cat", seed: "7", go_fast: false, image })).toEqual({
      values: { prompt: "a cat", seed: "7", go_fast: false },
      droppedFiles: ["image"],
    });
  });

  it("lists an output by its first files (no data: URLs) or the start of its text", () => {
    const files = Array.from({ length: 10 }, (_, n) => ({ url: `https://replicate.delivery/x/out-${n}.png` }));
    expect(outputSummary({ files, text: null, json: null }).files).toHaveLength(8);
    expect(outputSummary({ files: [{ url: "data:image/png;base64,AA" }], text: null, json: null }).files).toEqual([]);
    const summary = outputSummary({ files: [], text: `  Once upon\n a time ${"word ".repeat(100)}`, json: null });
    expect(summary.excerpt?.startsWith("Once upon a time word")).toBe(true);
    expect(summary.excerpt?.length).toBe(160);
    expect(summary.excerpt?.endsWith("…")).toBe(true);
  });
});

describe("the form's draft", () => {
  it("comes back after a reload, without picked files", () => {
    const storage = memoryStorage();
    saveDraft(storage, {
      prompt: "a lighthouse",
      seed: "42",
      go_fast: true,
      image: `data:image/png;base64,${"A".repeat(KEPT_VALUE_MAX_CHARS)}`,
    });
    expect(readDraft(storage)).toEqual({ prompt: "a lighthouse", seed: "42", go_fast: true });
  });

  it("reads junk or a refusing storage as an empty form", () => {
    const storage = memoryStorage();
    storage.items.set(DRAFT_STORAGE_KEY, "[1,2]");
    expect(readDraft(storage)).toEqual({});
    storage.items.set(DRAFT_STORAGE_KEY, '{"prompt":{"nested":true},"seed":"3"}');
    expect(readDraft(storage)).toEqual({ seed: "3" });
    const refusing = {
      getItem: () => null,
      setItem: () => {
        throw new Error("denied");
      },
    };
    expect(() => saveDraft(refusing, { prompt: "x" })).not.toThrow();
  });
});

describe("the run on screen, as its history entry", () => {
  const IMAGES = { type: "array", items: { type: "string", format: "uri" } };
  const started = (): RunState => {
    let state = runReducer(IDLE_RUN, {
      type: "start",
      body: seedBody({ prompt: "a cat" }),
      values: { prompt: "a cat", seed: "7" },
      now: 1_000,
    });
    state = runReducer(state, { type: "handle", handle: "abc123.mac" });
    return runReducer(state, {
      type: "event",
      event: { type: "status", id: "abc123", status: "starting", createdAt: "2026-01-01T00:00:00.000Z" },
    });
  };

  it("is nothing before the route names the handle", () => {
    expect(
      historyPatchOf(runReducer(IDLE_RUN, { type: "start", body: seedBody({ prompt: "x" }), values: {}, now: 1 }), null),
    ).toBeNull();
  });

  it("holds what it was started with, its start, then its output and model once it ends", () => {
    const running = historyPatchOf(started(), IMAGES);
    expect(running).toMatchObject({
      handle: "abc123.mac",
      id: "abc123",
      status: "starting",
      values: { prompt: "a cat", seed: "7" },
      createdAt: Date.parse("2026-01-01T00:00:00.000Z"),
    });
    expect(running?.error).toBeUndefined();
    const prediction = {
      id: "abc123",
      status: "succeeded" as const,
      model: "owner/model",
      version: "v1",
      output: ["https://replicate.delivery/x/out-0.png"],
    };
    const ended = runReducer(started(), { type: "finish", report: { kind: "succeeded", prediction }, now: 5_000 });
    expect(historyPatchOf(ended, IMAGES)).toMatchObject({
      status: "succeeded",
      model: "owner/model",
      files: ["https://replicate.delivery/x/out-0.png"],
      excerpt: null,
      error: null,
    });
  });

  it("says a failed run's error, not a cancel's; a re-attached run leaves the values it was started with", () => {
    const prediction = { id: "abc123", status: "failed" as const, error: "out of memory" };
    const failed = runReducer(started(), {
      type: "finish",
      report: { kind: "failed", message: "The model failed: out of memory", prediction },
      now: 2,
    });
    expect(historyPatchOf(failed, null)?.error).toBe("The model failed: out of memory");
    const canceled = runReducer(started(), { type: "finish", report: { kind: "canceled", message: "Canceled" }, now: 2 });
    expect(historyPatchOf(canceled, null)).toMatchObject({ status: "canceled", error: null });

    const attached = runReducer(runReducer(IDLE_RUN, { type: "attach", now: 9 }), { type: "handle", handle: "abc123.mac" });
    const patch = historyPatchOf(attached, null)!;
    expect(patch.values).toBeUndefined();
    expect(patch.createdAt).toBeUndefined();
    const entries = withEntry([], { handle: "abc123.mac", createdAt: 5, values: { prompt: "a cat" } });
    expect(withEntry(entries, patch)[0]).toMatchObject({ values: { prompt: "a cat" }, createdAt: 5 });
  });
});
