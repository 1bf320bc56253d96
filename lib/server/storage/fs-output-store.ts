import "server-only";
// OUTPUT_STORAGE=fs: objects are files under OUTPUT_STORAGE_DIR, served by this app's route
// `GET /api/ai/replicate/outputs/{token}` (serve-output.ts) under capability URLs. Each object is
// its file plus `<file>~meta.json` (content type, size, SHA-256); `~` never appears in a key, so
// no key can name a sidecar or a temporary file. Writes go to a temporary file renamed into place,
// so a reader sees a whole object or none. Fits one machine or a shared volume; several instances
// behind a load balancer need the same folder (or S3).

import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { checkStorageKey, type OutputStore, type PutOptions, type StoredObject } from "./output-store";
import type { OutputUrlSigner } from "./output-url-signer";

export const OUTPUTS_ROUTE_PATH = "/api/ai/replicate/outputs";

interface Sidecar {
  contentType: string;
  size: number;
  sha256: string;
}

export class FsOutputStore implements OutputStore {
  readonly root: string;

  constructor(
    dir: string,
    private readonly signer: OutputUrlSigner,
  ) {
    this.root = resolve(dir);
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<void> {
    const file = this.fileOf(key);
    await mkdir(dirname(file), { recursive: true });
    const suffix = `~${randomUUID()}.tmp`;
    const hash = createHash("sha256");
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, measure, createWriteStream(file + suffix, { flags: "wx" }), { signal: options.signal });
      if (options.size !== undefined && options.size !== size) {
        throw new Error(`Expected ${options.size} bytes, received ${size}.`);
      }
      const sidecar: Sidecar = { contentType: options.contentType, size, sha256: hash.digest("hex") };
      await writeFile(`${file}~meta.json${suffix}`, JSON.stringify(sidecar), { flag: "wx" });
      await rename(`${file}~meta.json${suffix}`, `${file}~meta.json`);
      await rename(file + suffix, file);
    } catch (error) {
      await Promise.all([rm(file + suffix, { force: true }), rm(`${file}~meta.json${suffix}`, { force: true })]);
      throw error;
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    const file = this.fileOf(key);
    const [sidecar, data] = await Promise.all([readSidecar(`${file}~meta.json`), stat(file).catch(ifMissing(null))]);
    if (!sidecar || !data?.isFile() || data.size !== sidecar.size) return null;
    return { size: sidecar.size, contentType: sidecar.contentType, etag: `"${sidecar.sha256.slice(0, 32)}"` };
  }

  async read(key: string): Promise<Readable | null> {
    const handle = await open(this.fileOf(key), "r").catch(ifMissing(null));
    return handle ? handle.createReadStream() : null;
  }

  async url(key: string): Promise<string> {
    checkStorageKey(key);
    return `${OUTPUTS_ROUTE_PATH}/${this.signer.sign(key)}`;
  }

  /** Removes the object (nothing when there is none): `npm run doctor` cleans up its probe. */
  async delete(key: string): Promise<void> {
    const file = this.fileOf(key);
    await Promise.all([rm(file, { force: true }), rm(`${file}~meta.json`, { force: true })]);
  }

  /** The key a URL token of this store names, or null for a token it never issued. */
  keyOfToken(token: string): string | null {
    return this.signer.verify(token);
  }

  /** The file of a key, which is always inside the storage folder (checked twice: key shape, resolved path). */
  fileOf(key: string): string {
    const file = resolve(this.root, ...checkStorageKey(key).split("/"));
    if (!file.startsWith(this.root + sep)) throw new Error("A storage key resolved outside the storage folder.");
    return file;
  }
}

async function readSidecar(path: string): Promise<Sidecar | null> {
  const text = await readFile(path, "utf8").catch(ifMissing(null));
  if (text === null) return null;
  const parsed = JSON.parse(text) as Partial<Sidecar>;
  const valid = typeof parsed.contentType === "string" && typeof parsed.size === "number" && typeof parsed.sha256 === "string";
  return valid ? (parsed as Sidecar) : null;
}

function ifMissing<T>(value: T) {
  return (error: NodeJS.ErrnoException): T => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return value;
    throw error;
  };
}
