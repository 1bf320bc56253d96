import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { keepOutputs } from "@/lib/server/storage/keep-outputs";
import type { S3OutputStore } from "@/lib/server/storage/s3-output-store";
import { createOutputStorage, parseStorageConfig, type OutputStorage } from "@/lib/server/storage/storage-config";
import type { Prediction } from "@/lib/shared/prediction";
import { patternChunk, startFilesHost, type FilesHost } from "@/tests/support/output-files-host";
import { S3_SERVER_PACKAGE, startS3Server } from "@/tests/support/s3-server";

const s3 = await startS3Server();
if (!s3) console.warn(`S3 store tests skipped: install the S3 test server with \`npm install --save-dev ${S3_SERVER_PACKAGE}\`.`);

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

function s3Storage(overrides: Record<string, string> = {}): OutputStorage & { store: S3OutputStore } {
  const storage = createOutputStorage(
    parseStorageConfig({
      OUTPUT_STORAGE: "s3",
      OUTPUT_S3_BUCKET: s3!.bucket,
      OUTPUT_S3_ENDPOINT: s3!.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3!.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3!.credentials.secretAccessKey,
      OUTPUT_SOURCE_HOSTS: "127.0.0.1",
      ...overrides,
    }),
  );
  if (storage?.kind !== "s3") throw new Error("expected the s3 storage");
  return storage;
}

/** The names of the S3 commands a store sends from now on. */
async function recordCommands(store: S3OutputStore): Promise<string[]> {
  const names: string[] = [];
  const client = await store.client();
  const send = client.send.bind(client);
  vi.spyOn(client, "send").mockImplementation(((command: { constructor: { name: string } }, ...rest: unknown[]) => {
    names.push(command.constructor.name);
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as never);
  return names;
}

let id = 0;
const nextKey = (name: string) => `s3test${(id += 1)}/${name}`;

describe.skipIf(!s3)("the S3 store, against a real S3-protocol server on loopback", () => {
  let host: FilesHost;
  beforeAll(async () => {
    host = await startFilesHost();
  });
  afterAll(async () => {
    await host?.close();
    await s3?.close();
  });
  afterEach(() => vi.restoreAllMocks());

  it("puts, heads and reads an object with its content type and an immutable Cache-Control", async () => {
    const { store } = s3Storage();
    const key = nextKey("output.png");
    expect(await store.head(key)).toBeNull();
    expect(await store.read(key)).toBeNull();
    await store.put(key, Readable.from([PNG]), { contentType: "image/png", size: PNG.length });
    expect(await store.head(key)).toMatchObject({ size: PNG.length, contentType: "image/png" });
    const chunks: Buffer[] = [];
    for await (const chunk of (await store.read(key))!) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(PNG);
  });

  it("answers pre-signed GET URLs that work without credentials, expire as configured, and cannot be forged", async () => {
    const { store } = s3Storage({ OUTPUT_S3_URL_EXPIRES_SECONDS: "900" });
    const key = nextKey("output.png");
    await store.put(key, Readable.from([PNG]), { contentType: "image/png" });
    const url = new URL(await store.url(key));
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.has("X-Amz-Signature")).toBe(true);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG);

    url.searchParams.set("X-Amz-Signature", "0".repeat(64));
    expect((await fetch(url)).status).toBe(403);
    const otherKey = new URL(await store.url(key));
    otherKey.pathname = otherKey.pathname.replace("output.png", "other.png");
    expect((await fetch(otherKey)).status).toBe(403);
  });

  it("answers URLs under OUTPUT_S3_PUBLIC_URL, with OUTPUT_S3_PREFIX in front of every key", async () => {
    const { store } = s3Storage({ OUTPUT_S3_PUBLIC_URL: "https://cdn.example.com/files", OUTPUT_S3_PREFIX: "replicate/" });
    const key = nextKey("output.0.png");
    await store.put(key, Readable.from([PNG]), { contentType: "image/png" });
    expect(await store.url(key)).toBe(`https://cdn.example.com/files/replicate/${key}`);
    // The object really is under the prefix.
    expect(await s3Storage().store.head(`replicate/${key}`)).toMatchObject({ size: PNG.length });
  });

  it("streams a 20 MB body as a multipart upload in 5 MiB parts", async () => {
    const { store } = s3Storage();
    const commands = await recordCommands(store);
    const key = nextKey("big.bin");
    const chunk = patternChunk();
    const total = 20 * 1024 * 1024;
    const expected = createHash("sha256");
    async function* generated() {
      for (let sent = 0; sent < total; sent += chunk.length) {
        expected.update(chunk);
        yield chunk;
      }
    }
    await store.put(key, Readable.from(generated()), { contentType: "application/octet-stream" });
    expect(commands.filter((name) => name === "CreateMultipartUploadCommand")).toHaveLength(1);
    expect(commands.filter((name) => name === "UploadPartCommand")).toHaveLength(4);
    expect(commands).not.toContain("PutObjectCommand");
    const received = createHash("sha256");
    let size = 0;
    for await (const piece of (await store.read(key))!) {
      received.update(piece as Buffer);
      size += (piece as Buffer).length;
    }
    expect(size).toBe(total);
    expect(received.digest("hex")).toBe(expected.digest("hex"));
  });

  it("a body that fails half-way aborts the upload and leaves no object", async () => {
    const { store } = s3Storage();
    const commands = await recordCommands(store);
    const key = nextKey("broken.bin");
    async function* failing() {
      for (let part = 0; part < 3; part += 1) yield Buffer.alloc(3 * 1024 * 1024, part);
      throw new Error("connection reset");
    }
    // s3rver does not implement AbortMultipartUpload (it answers 405, which lib-storage then
    // reports instead of the body's error); S3, R2 and MinIO do. Either way the put fails.
    await expect(store.put(key, Readable.from(failing()), { contentType: "application/octet-stream" })).rejects.toThrow();
    expect(await store.head(key)).toBeNull();
    expect(commands).toContain("AbortMultipartUploadCommand");
    expect(commands).not.toContain("CompleteMultipartUploadCommand");
  });

  it("an aborted put rejects with the abort reason and leaves no object", async () => {
    const { store } = s3Storage();
    const key = nextKey("aborted.bin");
    const controller = new AbortController();
    async function* slow() {
      yield Buffer.alloc(6 * 1024 * 1024, 1);
      controller.abort(new Error("took too long"));
      yield Buffer.alloc(6 * 1024 * 1024, 2);
    }
    await expect(
      store.put(key, Readable.from(slow()), { contentType: "application/octet-stream", signal: controller.signal }),
    ).rejects.toThrow("took too long");
    expect(await store.head(key)).toBeNull();
  });

  it("keepOutputs copies a prediction's files into the bucket and answers their URLs; a second call reads the manifest", async () => {
    const storage = s3Storage();
    host.file("/s3/out-0.png", PNG, "image/png");
    const output = { images: [host.url("/s3/out-0.png"), `data:image/png;base64,${PNG.toString("base64")}`], seed: 7 };
    const prediction: Prediction = { id: `s3keep${(id += 1)}abcdef`, status: "succeeded", output, data_removed: false };
    const kept = await keepOutputs(prediction, { storage });
    expect(kept.outputs_kept).toBe(true);
    expect(kept.replicate_output).toEqual(output);
    const result = kept.output as typeof output;
    expect(result.seed).toBe(7);
    for (const url of result.images) {
      expect(url).toContain(`${s3!.endpoint}/${s3!.bucket}/${prediction.id}/output.images.`);
      expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(PNG);
    }
    expect(await storage.store.head(`${prediction.id}/manifest.json`)).toMatchObject({ contentType: "application/json" });

    const requestsBefore = host.requests.length;
    const removed = await keepOutputs({ ...prediction, output: null, data_removed: true }, { storage });
    expect(removed.outputs_kept).toBe(true);
    expect((removed.output as typeof output).images).toHaveLength(2);
    expect(host.requests.length).toBe(requestsBefore);
  });

  it("a bucket that does not exist is a reason, not a failed answer", async () => {
    const storage = s3Storage({ OUTPUT_S3_BUCKET: "no-such-bucket" });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const kept = await keepOutputs(
      { id: `s3miss${(id += 1)}abcdef`, status: "succeeded", output: [`data:image/png;base64,${PNG.toString("base64")}`] },
      { storage },
    );
    expect(kept.status).toBe("succeeded");
    expect(kept.outputs_kept).toBe(false);
    expect(kept.outputs_kept_error).toContain("the output store");
  });
});
