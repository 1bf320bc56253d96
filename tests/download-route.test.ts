/**
 * GET /api/ai/replicate/download/{handle}/{index}: an output file through the app, for the caller
 * the prediction was made for, within the output copies' bounds, against the simulated Replicate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/download/[id]/[index]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { downloadFileName, downloadOutput, outputFileUrls } from "@/lib/server/storage/download-output";
import type { CopySettings, OutputStorage } from "@/lib/server/storage/storage-config";
import type { Prediction } from "@/lib/shared/prediction";
import type { KeptPrediction } from "@/lib/server/storage/keep-outputs";
import { handleOf, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { setVariables } from "@/tests/support/test-engine";

const { sim } = useSimulatedReplicate();
const APP = "http://app.test";
const STORAGE_VARS = ["OUTPUT_STORAGE", "OUTPUT_STORAGE_DIR", "OUTPUT_SOURCE_HOSTS", "OUTPUT_MAX_BYTES"];
afterAll(() => setVariables(Object.fromEntries(STORAGE_VARS.map((name) => [name, undefined]))));

/** Runs a prediction to its end through the route (sync mode) and answers it. */
async function ran(prompt = "a lighthouse"): Promise<KeptPrediction> {
  return (await (await POST(jsonPost(`${APP}/api/ai/replicate`, { prompt }))).json()) as KeptPrediction;
}

const download = (handle: string, index: string) =>
  GET(new Request(`${APP}/api/ai/replicate/download/${handle}/${index}`), { params: Promise.resolve({ id: handle, index }) });

describe("downloading an output file through the app", () => {
  it("answers the very bytes of Replicate's file as an attachment named <id>-<index>.<ext>", async () => {
    setEnv({ OUTPUT_STORAGE: "", OUTPUT_SOURCE_HOSTS: "", OUTPUT_MAX_BYTES: "" });
    const prediction = await ran();
    const [url] = prediction.output as string[];
    const response = await download(handleOf(prediction.id), "0");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="${prediction.id}-0.svg"`);
    expect(response.headers.get("content-type")).toContain("image/svg+xml");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const original = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(Buffer.from(await response.arrayBuffer())).toEqual(original);
    // Replicate's file host gets no token from a download either.
    for (const request of sim.requests.filter((seen) => seen.kind === "file"))
      expect(request.headers.authorization).toBeUndefined();
  });

  it("reads the kept copy when outputs are kept, with the same name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "download-kept-"));
    try {
      setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir, OUTPUT_SOURCE_HOSTS: "", OUTPUT_MAX_BYTES: "" });
      const prediction = await ran();
      expect(prediction.outputs_kept).toBe(true);
      const [original] = prediction.replicate_output as string[];
      const filesBefore = sim.requests.filter((seen) => seen.kind === "file").length;
      const response = await download(handleOf(prediction.id), "0");
      expect(response.status).toBe(200);
      expect(response.headers.get("content-disposition")).toBe(`attachment; filename="${prediction.id}-0.svg"`);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(sim.requests.filter((seen) => seen.kind === "file")).toHaveLength(filesBefore);
      expect(bytes).toEqual(Buffer.from(await (await fetch(original)).arrayBuffer()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers 404 to a handle of another secret or an altered one, and to an index past the last file", async () => {
    setEnv({ OUTPUT_STORAGE: "" });
    const prediction = await ran();
    const handle = handleOf(prediction.id);
    const altered = `${handle.slice(0, -2)}${handle.endsWith("AA") ? "BB" : "AA"}`;
    expect((await download(altered, "0")).status).toBe(404);
    expect((await download(prediction.id, "0")).status).toBe(404);
    const past = await download(handle, "1");
    expect(past.status).toBe(404);
    expect(await past.json()).toMatchObject({ title: "No such output file", status: 404 });
    expect((await download(handle, "first")).status).toBe(400);
  });

  it("answers 409 for a prediction that did not succeed", async () => {
    setEnv({ OUTPUT_STORAGE: "" });
    const failed = await ran("a cat [fail]");
    expect(failed.status).toBe("failed");
    const response = await download(handleOf(failed.id), "0");
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ title: "No output to download", status: 409 });
  });

  it("reads only from the output file hosts, and at most OUTPUT_MAX_BYTES", async () => {
    setEnv({ OUTPUT_STORAGE: "", OUTPUT_SOURCE_HOSTS: "replicate.delivery", OUTPUT_MAX_BYTES: "" });
    const prediction = await ran();
    const filesBefore = sim.requests.filter((seen) => seen.kind === "file").length;
    const refused = await download(handleOf(prediction.id), "0");
    expect(refused.status).toBe(403);
    expect(sim.requests.filter((seen) => seen.kind === "file")).toHaveLength(filesBefore);

    setEnv({ OUTPUT_SOURCE_HOSTS: "", OUTPUT_MAX_BYTES: "10" });
    // The simulator's file host names no Content-Length: the answer breaks off past the limit.
    const tooLarge = await download(handleOf(prediction.id), "0");
    await expect(tooLarge.arrayBuffer()).rejects.toThrow(/OUTPUT_MAX_BYTES \(10 bytes\)/);
  });
});

describe("the output's files, as the page lists them", () => {
  it("are its URL strings, depth first, whatever their host; text is not a file", () => {
    expect(outputFileUrls(["https://a.test/0.png", "data:image/png;base64,AA", "/api/ai/replicate/outputs/v1.x.y"])).toHaveLength(
      3,
    );
    expect(outputFileUrls({ image: "https://a.test/0.png", caption: "a cat", nested: [["https://b.test/1.wav"]] })).toEqual([
      "https://a.test/0.png",
      "https://b.test/1.wav",
    ]);
    expect(outputFileUrls("just some text with https://a.test/ inside")).toEqual([]);
  });

  it("are named by the URL's extension, else by the file's type", () => {
    expect(downloadFileName("abc123", 2, "https://replicate.delivery/x/out-2.webp", "image/webp")).toBe("abc123-2.webp");
    expect(downloadFileName("abc123", 0, "data:audio/wav;base64,AA", "audio/wav")).toBe("abc123-0.wav");
    expect(downloadFileName("abc123", 0, "https://replicate.delivery/x/file", "image/png")).toBe("abc123-0.png");
    expect(downloadFileName("abc123", 0, "https://replicate.delivery/x/file", "application/x-unknown")).toBe("abc123-0");
  });
});

describe("a kept output in a bucket", () => {
  it("is read from the bucket's URL, but a text field holding a URL on that host is not fetched", async () => {
    // One loopback server plays both the bucket and an internal service on the same host.
    const { createServer } = await import("node:http");
    const objects = new Map<string, Buffer>();
    const server = createServer((request, response) => {
      const object = objects.get(request.url!.replace(/^\/bucket\//, ""));
      if (object) return response.writeHead(200, { "content-type": "image/png" }).end(object);
      response.writeHead(200, { "content-type": "text/plain" }).end("internal-secret");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const bucket = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const { Readable } = await import("node:stream");
      const store = {
        async put(key: string, body: NodeJS.ReadableStream) {
          const chunks: Buffer[] = [];
          for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
          objects.set(key, Buffer.concat(chunks));
        },
        async head(key: string) {
          const object = objects.get(key);
          return object ? { size: object.length, contentType: "image/png" } : null;
        },
        async read(key: string) {
          const object = objects.get(key);
          return object ? Readable.from([object]) : null;
        },
        async url(key: string) {
          return `${bucket}/bucket/${key}`;
        },
      };
      const copy = { limits: { maxBytes: 1_000_000, timeoutMs: 5000, concurrency: 2 }, sourceHosts: ["replicate.delivery"] };
      const storage = { kind: "s3", store, ...copy } as unknown as OutputStorage;
      const prediction = {
        id: "abc123kept",
        status: "succeeded",
        output: { image: "data:image/png;base64,iVBORw0K", caption: `${bucket}/latest/meta-data` },
      } as unknown as Prediction;

      const image = await downloadOutput(prediction, 0, { storage, copy: copy as CopySettings });
      expect(image.status).toBe(200);
      expect(Buffer.from(await image.arrayBuffer())).toEqual(Buffer.from("iVBORw0K", "base64"));
      const refused = await downloadOutput(prediction, 1, { storage, copy: copy as CopySettings }).catch(
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ status: 403, title: "Not an output file host" });
    } finally {
      server.close();
    }
  });
});
