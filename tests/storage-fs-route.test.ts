import { mkdtempSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { GET, HEAD } from "@/app/api/ai/replicate/outputs/[token]/route";
import { deriveSigningKey, OutputUrlSigner } from "@/lib/server/storage/output-url-signer";
import { setVariables, testEngine } from "@/tests/support/test-engine";
import type { FsOutputStore } from "@/lib/server/storage/fs-output-store";
import { setEnv, TOKEN } from "@/tests/support/route-env";

const STORAGE_VARS = ["OUTPUT_STORAGE", "OUTPUT_STORAGE_DIR", "OUTPUT_URL_SECRET", "OUTPUT_S3_BUCKET"];
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

let parent: string;
let dir: string;

function fsStore(): FsOutputStore {
  const storage = testEngine().outputStorage();
  if (storage?.kind !== "fs") throw new Error("expected the fs storage");
  return storage.store;
}

function get(token: string, headers: Record<string, string> = {}, method = "GET") {
  const request = new Request(`http://localhost/api/ai/replicate/outputs/${encodeURIComponent(token)}`, { method, headers });
  return (method === "HEAD" ? HEAD : GET)(request, { params: Promise.resolve({ token }) });
}

async function put(key: string, bytes: Buffer, contentType: string): Promise<string> {
  await fsStore().put(key, Readable.from([bytes]), { contentType, size: bytes.length });
  return (await fsStore().url(key)).split("/").at(-1)!;
}

async function expectNotFound(response: Response) {
  expect(response.status).toBe(404);
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(await response.json()).toEqual({ title: "Not found", detail: "No kept output file has this URL.", status: 404 });
}

beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), "fs-route-"));
  dir = join(parent, "outputs");
  setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir, OUTPUT_URL_SECRET: "" });
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));
afterAll(() => setVariables(Object.fromEntries(STORAGE_VARS.map((name) => [name, undefined]))));

describe("the fs route serves kept files", () => {
  it("with their type, length, a strong ETag and an immutable Cache-Control, without the route key", async () => {
    setVariables({ ROUTE_API_KEY: "a-route-key-of-sixteen-plus-chars" });
    try {
      const token = await put("abc123/output.0.png", PNG, "image/png");
      const response = await get(token);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG);
      expect(response.headers.get("content-type")).toBe("image/png");
      expect(response.headers.get("content-length")).toBe(String(PNG.length));
      expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("content-security-policy")).toContain("sandbox");
    } finally {
      setVariables({ ROUTE_API_KEY: undefined });
    }
  });

  it("answers If-None-Match with 304 and no body, for the tag, a list holding it, its weak form or *", async () => {
    const token = await put("abc123/output.png", PNG, "image/png");
    const etag = (await get(token)).headers.get("etag")!;
    for (const header of [etag, `"other", ${etag}`, `W/${etag}`, "*"]) {
      const response = await get(token, { "if-none-match": header });
      expect(response.status).toBe(304);
      expect(response.headers.get("etag")).toBe(etag);
      expect(response.headers.get("cache-control")).toContain("immutable");
      expect(await response.text()).toBe("");
    }
    expect((await get(token, { "if-none-match": '"something-else"' })).status).toBe(200);
  });

  it("the ETag changes with the content", async () => {
    const first = (await get(await put("abc123/a.png", PNG, "image/png"))).headers.get("etag");
    const second = (await get(await put("abc123/b.png", Buffer.from("other"), "image/png"))).headers.get("etag");
    expect(first).not.toBe(second);
  });

  it("HEAD answers the headers without the body", async () => {
    const token = await put("abc123/output.png", PNG, "image/png");
    const response = await get(token, {}, "HEAD");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(String(PNG.length));
    expect(await response.text()).toBe("");
  });
});

describe("URLs are capabilities: one this app never issued is a 404 problem", () => {
  it("a forged MAC, a MAC of another key, another secret's token, a changed key", async () => {
    const token = await put("abc123/output.png", PNG, "image/png");
    const [version, key, mac] = token.split(".");
    const otherKeyToken = await put("abc123/other.png", PNG, "image/png");
    const otherSecret = new OutputUrlSigner(deriveSigningKey("some-other-secret-of-32-characters!!")).sign("abc123/output.png");
    const forged = [
      `${version}.${key}.${Buffer.alloc(16).toString("base64url")}`,
      `${version}.${key}.${otherKeyToken.split(".")[2]}`,
      otherSecret,
      `${version}.${Buffer.from("abc123/output.pnh").toString("base64url")}.${mac}`,
      `v2.${key}.${mac}`,
      `${version}.${key}.${mac}x`,
      `${version}.${key}`,
      "",
    ];
    for (const candidate of forged) await expectNotFound(await get(candidate));
    expect((await get(token)).status).toBe(200);
  });

  it("a token signed with the token-derived key stops working when OUTPUT_URL_SECRET replaces it", async () => {
    const token = await put("abc123/output.png", PNG, "image/png");
    setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir, OUTPUT_URL_SECRET: "x".repeat(40) });
    await expectNotFound(await get(token));
  });

  it("a file that is gone", async () => {
    const token = await put("abc123/output.png", PNG, "image/png");
    rmSync(join(dir, "abc123", "output.png"));
    await expectNotFound(await get(token));
  });

  it("the route answers 404 when outputs are kept elsewhere or not at all", async () => {
    const token = await put("abc123/output.png", PNG, "image/png");
    setEnv({ OUTPUT_STORAGE: "", OUTPUT_STORAGE_DIR: dir });
    await expectNotFound(await get(token));
    setEnv({ OUTPUT_STORAGE: "s3", OUTPUT_S3_BUCKET: "outputs", OUTPUT_STORAGE_DIR: dir });
    await expectNotFound(await get(token));
  });
});

describe("no path leaves the storage folder", () => {
  beforeEach(() => writeFileSync(join(parent, "secret.txt"), "outside"));

  const ESCAPES = [
    "../secret.txt",
    "..%2fsecret.txt",
    "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt",
    "/etc/passwd",
    `${"x"}/../../secret.txt`,
    "abc\u0000.png",
    "..\\secret.txt",
    ".",
    "..",
  ];

  it("as the route's token, raw or encoded", async () => {
    for (const escaped of ESCAPES) {
      await expectNotFound(await get(escaped));
      await expectNotFound(await get(decodeURIComponent(escaped)));
    }
  });

  it("even inside a correctly signed token (a leaked signing key)", async () => {
    const signer = new OutputUrlSigner(deriveSigningKey(TOKEN));
    const mac = (key: string) => signer.sign(key);
    // The signer refuses nothing; the verifier and the store refuse every key that is not a plain relative path.
    for (const escaped of ESCAPES) await expectNotFound(await get(mac(decodeURIComponent(escaped))));
  });

  it("the store refuses such keys outright, on write and on read", async () => {
    for (const key of [
      "../secret.txt",
      "/etc/passwd",
      "a/../../secret.txt",
      "a\u0000b",
      ".hidden",
      "a//b",
      "a/",
      "",
      "a\\..\\b",
      "a~meta.json",
    ]) {
      await expect(fsStore().put(key, Readable.from([PNG]), { contentType: "image/png" })).rejects.toThrow("Not a storage key");
      await expect(fsStore().head(key)).rejects.toThrow("Not a storage key");
      await expect(fsStore().read(key)).rejects.toThrow("Not a storage key");
    }
    expect(readdirSync(parent).sort()).toEqual(["secret.txt"]);
  });
});

describe("the fs store writes whole objects or none", () => {
  it("a source that fails half-way leaves no file, no sidecar and no temporary file", async () => {
    async function* failing() {
      yield Buffer.alloc(1000, 1);
      throw new Error("connection reset");
    }
    await expect(fsStore().put("abc123/broken.png", Readable.from(failing()), { contentType: "image/png" })).rejects.toThrow(
      "connection reset",
    );
    expect(readdirSync(join(dir, "abc123"))).toEqual([]);
    expect(await fsStore().head("abc123/broken.png")).toBeNull();
  });

  it("a size that does not match the bytes received is refused", async () => {
    await expect(
      fsStore().put("abc123/short.png", Readable.from([PNG]), { contentType: "image/png", size: PNG.length + 1 }),
    ).rejects.toThrow(`Expected ${PNG.length + 1} bytes`);
    expect(readdirSync(join(dir, "abc123"))).toEqual([]);
  });

  it("writing a key again replaces it whole", async () => {
    await put("abc123/output.png", PNG, "image/png");
    const token = await put("abc123/output.png", Buffer.from("second"), "text/plain");
    const response = await get(token);
    expect(await response.text()).toBe("second");
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(readdirSync(join(dir, "abc123")).sort()).toEqual(["output.png", "output.png~meta.json"]);
  });
});
