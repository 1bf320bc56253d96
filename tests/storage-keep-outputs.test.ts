import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { keepOutputs, type KeepOptions } from "@/lib/server/storage/keep-outputs";
import type { OutputStore, PutOptions } from "@/lib/server/storage/output-store";
import { serveKeptOutput } from "@/lib/server/storage/serve-output";
import { createOutputStorage, parseStorageConfig, type OutputStorage } from "@/lib/server/storage/storage-config";
import type { Prediction } from "@/lib/shared/prediction";
import { patternChunk, startFilesHost, writePattern, type FilesHost } from "@/tests/support/output-files-host";

const TOKEN = "r8_keep_outputs_test_token_5e2a";
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001", "hex");
const WEBP = Buffer.from("RIFF\u0000\u0000\u0000\u0000WEBPVP8 made up bytes");

let host: FilesHost;
let dir: string;
let storage: OutputStorage;

function fsStorage(overrides: Record<string, string> = {}): OutputStorage {
  return createOutputStorage(
    parseStorageConfig({
      OUTPUT_STORAGE: "fs",
      OUTPUT_STORAGE_DIR: dir,
      REPLICATE_API_TOKEN: TOKEN,
      OUTPUT_SOURCE_HOSTS: "127.0.0.1",
      ...overrides,
    }),
  )!;
}

let counter = 0;
function succeeded(output: unknown, id = `keep${(counter += 1).toString().padStart(4, "0")}abcd`): Prediction {
  return {
    id,
    status: "succeeded",
    model: "owner/model",
    version: "v",
    input: { prompt: "p" },
    output,
    error: null,
    logs: "",
    data_removed: false,
    urls: {},
  };
}

/** The bytes a kept URL of the fs store serves, through the app's own route logic. */
async function fetchKept(url: unknown): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const token = String(url).split("/").at(-1)!;
  const response = await serveKeptOutput(new Request(`http://app.test${url}`), token, storage);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

/** The test's storage with some of its store's methods replaced (the others call the fs store). */
function withStore(overrides: Partial<OutputStore>): OutputStorage {
  const inner = storage.store;
  const store: OutputStore = {
    put: (key, body, options) => inner.put(key, body, options),
    head: (key) => inner.head(key),
    read: (key) => inner.read(key),
    url: (key) => inner.url(key),
    ...overrides,
  };
  return { ...storage, store } as unknown as OutputStorage;
}

/** Every file under the storage folder, relative, sorted (temporary files included). */
function storedFiles(): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.includes(".") || name.includes("~")).sort();
}

beforeAll(async () => {
  host = await startFilesHost();
});
afterAll(() => host.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keep-outputs-"));
  storage = fsStorage();
  host.requests.length = 0;
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

describe("the kept output has Replicate's shape", () => {
  it("a string stays a string, an array an array, nested objects keep every other value", async () => {
    host.file("/a/out-0.png", PNG, "image/png");
    host.file("/a/out-1.webp", WEBP, "image/webp");
    host.file("/a/deep.png", PNG, "image/png");
    const output = {
      images: [host.url("/a/out-0.png"), host.url("/a/out-1.webp")],
      meta: { seed: 42, nested: [[host.url("/a/deep.png")]], caption: "a cat", link: "https://example.com/not-a-file.png" },
      "odd key/..": host.url("/a/out-0.png"),
    };
    const kept = await keepOutputs(succeeded(output), { storage });

    expect(kept.outputs_kept).toBe(true);
    expect(kept.replicate_output).toEqual(output);
    const result = kept.output as typeof output;
    expect(result.images).toHaveLength(2);
    expect(result.meta.seed).toBe(42);
    expect(result.meta.caption).toBe("a cat");
    // Not on a file host: text, left alone and never fetched.
    expect(result.meta.link).toBe("https://example.com/not-a-file.png");
    for (const url of [...result.images, result.meta.nested[0][0], result["odd key/.."]]) {
      expect(url).toMatch(/^\/api\/ai\/replicate\/outputs\/v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    }
    expect(await fetchKept(result.images[0])).toEqual({ status: 200, type: "image/png", bytes: PNG });
    expect(await fetchKept(result.images[1])).toEqual({ status: 200, type: "image/webp", bytes: WEBP });
    expect((await fetchKept(result.meta.nested[0][0])).bytes).toEqual(PNG);
    expect((await fetchKept(result["odd key/.."])).bytes).toEqual(PNG);
  });

  it("a single URL output is answered as a single kept URL", async () => {
    host.file("/b/out.png", PNG, "image/png");
    const kept = await keepOutputs(succeeded(host.url("/b/out.png")), { storage });
    expect(typeof kept.output).toBe("string");
    expect((await fetchKept(kept.output)).bytes).toEqual(PNG);
    expect(kept.replicate_output).toBe(host.url("/b/out.png"));
  });

  it("an output without files, and a prediction that did not succeed, are answered as they are", async () => {
    const text = succeeded(["Hello", " world"]);
    expect(await keepOutputs(text, { storage })).toBe(text);
    const failed = { ...succeeded([host.url("/a/out-0.png")]), status: "failed" as const };
    expect(await keepOutputs(failed, { storage })).toBe(failed);
    expect(host.requests).toHaveLength(0);
  });

  it("with no storage configured the prediction is answered untouched", async () => {
    const prediction = succeeded([host.url("/a/out-0.png")]);
    expect(await keepOutputs(prediction, { storage: null })).toBe(prediction);
    expect(host.requests).toHaveLength(0);
  });
});

describe("data URLs (sync mode)", () => {
  it("are decoded into files with their media type", async () => {
    const big = Buffer.alloc(400 * 1024, 9); // cassettes show PNG data URLs of about 400 KB
    const output = [
      `data:image/png;base64,${PNG.toString("base64")}`,
      `data:application/octet-stream;base64,${big.toString("base64")}`,
    ];
    const kept = await keepOutputs(succeeded(output), { storage });
    const [first, second] = kept.output as string[];
    expect(await fetchKept(first)).toEqual({ status: 200, type: "image/png", bytes: PNG });
    expect((await fetchKept(second)).bytes.equals(big)).toBe(true);
    expect(kept.replicate_output).toEqual(output);
  });

  it("percent-encoded data URLs too", async () => {
    const kept = await keepOutputs(succeeded("data:text/plain,hello%20world"), { storage });
    expect(await fetchKept(kept.output)).toEqual({ status: 200, type: "text/plain", bytes: Buffer.from("hello world") });
  });
});

describe("output file hosts get no credentials", () => {
  it("never sends the Replicate token or any Authorization header", async () => {
    host.file("/c/out.png", PNG, "image/png");
    await keepOutputs(succeeded([host.url("/c/out.png")]), { storage });
    expect(host.requests).toHaveLength(1);
    expect(host.requests[0].headers.authorization).toBeUndefined();
    expect(JSON.stringify(host.requests[0].headers)).not.toContain(TOKEN);
  });

  it("does not follow a redirect to a host that is not a file host", async () => {
    host.serve("/c/moved.png", (_request, response) => {
      response.writeHead(302, { location: host.url("/c/out.png").replace("127.0.0.1", "localhost") }).end();
    });
    const kept = await keepOutputs(succeeded([host.url("/c/moved.png")]), { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("is not an output file host");
    expect(host.requests.map((request) => request.path)).toEqual(["/c/moved.png"]);
  });

  it("follows a redirect within the file hosts", async () => {
    host.file("/c/final.png", PNG, "image/png");
    host.serve("/c/redirect.png", (_request, response) => void response.writeHead(307, { location: "/c/final.png" }).end());
    const kept = await keepOutputs(succeeded([host.url("/c/redirect.png")]), { storage });
    expect((await fetchKept((kept.output as string[])[0])).bytes).toEqual(PNG);
  });
});

describe("copies are streamed", () => {
  it("a 20 MB file reaches the store while its host is still sending it, and arrives whole", async () => {
    const total = 20 * 1024 * 1024;
    const half = total / 2;
    let produced = 0;
    let storeSawBytes!: () => void;
    const firstBytesStored = new Promise<void>((resolve) => (storeSawBytes = resolve));
    host.serve("/d/big.bin", async (_request, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream" }); // no Content-Length: chunked
      await writePattern(response, 0, half);
      produced = half;
      // The second half is sent only once the store has received bytes: a copy that buffered the
      // whole file before storing it would never get there.
      await firstBytesStored;
      await writePattern(response, half, total);
      produced = total;
      response.end();
    });
    let producedAtFirstStoredByte = -1;
    const watching = withStore({
      put: (key: string, body: Readable, options: PutOptions) => {
        const tap = new Transform({
          transform(chunk, _encoding, done) {
            if (producedAtFirstStoredByte === -1) {
              producedAtFirstStoredByte = produced;
              storeSawBytes();
            }
            done(null, chunk);
          },
        });
        return storage.store.put(key, body.pipe(tap), options);
      },
    });
    // A copy that buffered the whole file would never complete: the test would time out.
    const kept = await keepOutputs(succeeded([host.url("/d/big.bin")]), { storage: watching });

    expect(kept.outputs_kept).toBe(true);
    expect(producedAtFirstStoredByte).toBeLessThanOrEqual(half);
    const expected = createHash("sha256");
    const chunk = patternChunk();
    for (let offset = 0; offset < total; offset += chunk.length) expected.update(chunk);
    const served = await fetchKept((kept.output as string[])[0]);
    expect(served.bytes.length).toBe(total);
    expect(createHash("sha256").update(served.bytes).digest("hex")).toBe(expected.digest("hex"));
  });
});

describe("limits", () => {
  it("a file above OUTPUT_MAX_BYTES by its Content-Length is not kept, and nothing is stored", async () => {
    storage = fsStorage({ OUTPUT_MAX_BYTES: "1000" });
    host.file("/e/large.png", Buffer.alloc(1001), "image/png");
    const kept = await keepOutputs(succeeded([host.url("/e/large.png")]), { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("OUTPUT_MAX_BYTES");
    expect(kept.output).toEqual([host.url("/e/large.png")]);
    expect(storedFiles()).toEqual([]);
  });

  it("a file without Content-Length is cut at the cap, and its partial copy removed", async () => {
    storage = fsStorage({ OUTPUT_MAX_BYTES: "100000" });
    host.serve("/e/chunked.bin", async (_request, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      await writePattern(response, 0, 300_000);
      response.end();
    });
    const kept = await keepOutputs(succeeded([host.url("/e/chunked.bin")]), { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("larger than OUTPUT_MAX_BYTES");
    expect(storedFiles()).toEqual([]);
  });

  it("a data URL above the cap is not kept", async () => {
    storage = fsStorage({ OUTPUT_MAX_BYTES: "10" });
    const kept = await keepOutputs(succeeded(`data:image/png;base64,${Buffer.alloc(11).toString("base64")}`), { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("above OUTPUT_MAX_BYTES");
  });

  it("a copy that outlasts OUTPUT_COPY_TIMEOUT_SECONDS is stopped; the answer says so", async () => {
    storage = fsStorage({ OUTPUT_COPY_TIMEOUT_SECONDS: "7" });
    let sent!: () => void;
    const someBytesSent = new Promise<void>((resolve) => (sent = resolve));
    host.serve("/f/stalls.png", async (_request, response) => {
      response.writeHead(200, { "content-type": "image/png" });
      await writePattern(response, 0, 100_000);
      sent(); // and then nothing more, ever
    });
    const timers: { ms: number; fire: () => void; canceled: boolean }[] = [];
    const startTimer: KeepOptions["startTimer"] = (ms, fire) => {
      const timer = { ms, fire, canceled: false };
      timers.push(timer);
      return () => (timer.canceled = true);
    };
    const answer = keepOutputs(succeeded([host.url("/f/stalls.png")]), { storage, startTimer });
    await someBytesSent;
    expect(timers.map((timer) => timer.ms)).toEqual([7000]);
    timers[0].fire();
    const kept = await answer;
    expect(kept.status).toBe("succeeded");
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("longer than 7 s");
    expect(storedFiles()).toEqual([]);
  });

  it("copies at most OUTPUT_COPY_CONCURRENCY files at once, and cancels each file's timer when done", async () => {
    storage = fsStorage({ OUTPUT_COPY_CONCURRENCY: "3" });
    const urls = Array.from({ length: 10 }, (_, index) => {
      host.file(`/g/${index}.png`, PNG, "image/png");
      return host.url(`/g/${index}.png`);
    });
    // A copy starts with its head() and ends when its put() settles.
    let active = 0;
    let mostActive = 0;
    const inner = storage.store;
    const counting = withStore({
      head: (key: string) => {
        active += 1;
        mostActive = Math.max(mostActive, active);
        return inner.head(key);
      },
      put: (key: string, body: Readable, options: PutOptions) =>
        inner.put(key, body, options).finally(() => {
          if (!key.endsWith("manifest.json")) active -= 1;
        }),
    });
    const cancels: boolean[] = [];
    const kept = await keepOutputs(succeeded(urls), {
      storage: counting,
      startTimer: () => {
        const index = cancels.push(false) - 1;
        return () => (cancels[index] = true);
      },
    });
    expect(kept.outputs_kept).toBe(true);
    expect(host.requests).toHaveLength(10);
    expect(mostActive).toBe(3);
    expect(cancels).toEqual(Array(10).fill(true));
  });
});

describe("idempotence", () => {
  it("a second call answers the same URLs from the manifest without fetching again", async () => {
    host.file("/h/out.png", PNG, "image/png");
    const prediction = succeeded([host.url("/h/out.png")]);
    const first = await keepOutputs(prediction, { storage });
    const files = storedFiles();
    const second = await keepOutputs(prediction, { storage });
    expect(second.output).toEqual(first.output);
    expect(second.outputs_kept).toBe(true);
    expect(host.requests).toHaveLength(1);
    expect(storedFiles()).toEqual(files);
  });

  it("keeps answering the kept copies after Replicate removed the data (data_removed, output null)", async () => {
    host.file("/h/later.png", PNG, "image/png");
    const prediction = succeeded({ image: host.url("/h/later.png"), seed: 3 });
    const first = await keepOutputs(prediction, { storage });
    const removed = await keepOutputs({ ...prediction, output: null, data_removed: true }, { storage });
    expect(removed.outputs_kept).toBe(true);
    expect(removed.output).toEqual(first.output);
    expect(removed.replicate_output).toBeNull();
    expect((await fetchKept((removed.output as { image: string }).image)).bytes).toEqual(PNG);
  });

  it("the same output at the same place is the same object, as a data URL or as Replicate's file URL", async () => {
    const prediction = succeeded([`data:image/png;base64,${PNG.toString("base64")}`]);
    const sync = await keepOutputs(prediction, { storage });
    const objects = storedFiles();
    rmSync(join(dir, prediction.id, "manifest.json"));
    rmSync(join(dir, prediction.id, "manifest.json~meta.json"));
    host.file("/h/out-0.png", PNG, "image/png");
    const polled = await keepOutputs({ ...prediction, output: [host.url("/h/out-0.png")] }, { storage });
    expect(polled.output).toEqual(sync.output);
    expect(host.requests).toHaveLength(0); // the object was there: not fetched again
    expect(storedFiles()).toEqual(objects);
  });

  it("removed data and no kept copy: the answer says the outputs were not kept", async () => {
    const kept = await keepOutputs({ ...succeeded(null), data_removed: true }, { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("removed");
  });
});

describe("a copy that fails never fails the answer", () => {
  it("answers Replicate's URLs with outputs_kept false, and a later call keeps what is left", async () => {
    host.file("/i/ok.png", PNG, "image/png");
    const output = [host.url("/i/ok.png"), host.url("/i/missing.png")];
    const prediction = succeeded(output);
    const first = await keepOutputs(prediction, { storage });
    expect(first).toMatchObject({ status: "succeeded", output, outputs_kept: false });
    expect(first.outputs_kept_error).toBe(
      "1 of 2 output files were not kept: 127.0.0.1:" +
        new URL(host.origin).port +
        " answered 404 (Replicate removes outputs an hour after a prediction ends)",
    );
    expect(first.replicate_output).toBeUndefined();

    host.file("/i/missing.png", WEBP, "image/webp");
    host.requests.length = 0;
    const second = await keepOutputs(first, { storage });
    expect(second.outputs_kept).toBe(true);
    expect(second.outputs_kept_error).toBeUndefined();
    expect(second.replicate_output).toEqual(output);
    expect(host.requests.map((request) => request.path)).toEqual(["/i/missing.png"]);
    expect((await fetchKept((second.output as string[])[1])).bytes).toEqual(WEBP);
  });

  it("a host that cannot be reached is a reason, not an error", async () => {
    const prediction = succeeded(["http://127.0.0.1:1/unreachable.png"]);
    const kept = await keepOutputs(prediction, { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("could not be reached");
  });

  it("a broken storage configuration is a reason naming the variable", async () => {
    // What the engine gives keepOutputs: its storage, built at first use from the options the variables set.
    const storage = () => createOutputStorage(parseStorageConfig({ OUTPUT_STORAGE: "s3", OUTPUT_S3_BUCKET: "" }));
    const kept = await keepOutputs(succeeded([host.url("/a/out-0.png")]), { storage });
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("OUTPUT_S3_BUCKET");
  });

  it("a store that cannot give URLs (no credentials to pre-sign with) is a reason too", async () => {
    const unsigned = withStore({
      url: async () => {
        throw new Error("Could not load credentials from any providers");
      },
    });
    const kept = await keepOutputs(succeeded([`data:image/png;base64,${PNG.toString("base64")}`]), { storage: unsigned });
    expect(kept).toMatchObject({ status: "succeeded", outputs_kept: false });
    expect(kept.outputs_kept_error).toContain("could not give the kept files' URLs");
  });

  it("a store that fails is a reason; its error goes to the log only", async () => {
    host.file("/j/out.png", PNG, "image/png");
    const broken = withStore({
      put: async () => {
        throw new Error("disk full at /secret/path");
      },
    });
    const warn = vi.mocked(console.warn);
    const kept = await keepOutputs(succeeded([host.url("/j/out.png")]), { storage: broken });
    expect(kept.outputs_kept_error).toBe(
      "1 of 1 output files were not kept: the output store failed (the server log has the cause)",
    );
    expect(warn.mock.calls.flat().join("\n")).toContain("disk full");
  });
});
