import { createHash } from "node:crypto";
import { newPredictionId } from "./ids";
import type { ProblemBody } from "./types";

/**
 * The simulated Files API: `POST /v1/files` (multipart: `content`, `filename`, `type`, `metadata`;
 * 100 MiB at most) answers 201 with the file object; `GET` and `DELETE /v1/files/{id}`; the bytes
 * at `urls.get` + `/download` (with the token). Files expire (24 h by default). As on Replicate, a
 * file is an input only for predictions of the account that uploaded it: a create whose input
 * names a file of another account, or an expired or deleted one, is refused with 422. The model
 * reads an input file at create time (`modelInput`), so what it draws survives the file's deletion.
 */

export const FILES_MAX_BYTES = 100 * 1024 * 1024;
export const FILE_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** The account of the simulator's token. */
export const OWN_ACCOUNT = "simulated-account";

export interface SimFile {
  id: string;
  account: string;
  name: string;
  contentType: string;
  content: Uint8Array<ArrayBuffer>;
  metadata: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
  deleted: boolean;
}

export type FileAnswer =
  | { status: number; body?: unknown; bytes?: Uint8Array<ArrayBuffer>; contentType?: string }
  | { problem: ProblemBody };

const FILE_PATH = /\/v1\/files\/([A-Za-z0-9_-]+)(?:\/download)?$/;

export class SimFiles {
  readonly files = new Map<string, SimFile>();
  /** What the model read of each prediction's input files (its input with data URLs for them). */
  readonly readByModel = new Map<string, Record<string, unknown>>();
  expiryMs: number;
  maxBytes = FILES_MAX_BYTES;

  constructor(options: { expiryMs?: number } = {}) {
    this.expiryMs = options.expiryMs ?? FILE_EXPIRY_MS;
  }

  /** Adds a file directly (a test's file of another account, say). */
  add(file: Partial<SimFile> & { content: Uint8Array<ArrayBuffer> }): SimFile {
    const now = Date.now();
    const added: SimFile = {
      id: newPredictionId(),
      account: OWN_ACCOUNT,
      name: "file",
      contentType: "application/octet-stream",
      metadata: {},
      createdAt: now,
      expiresAt: now + this.expiryMs,
      deleted: false,
      ...file,
    };
    this.files.set(added.id, added);
    return added;
  }

  /** The file a URL names when it is usable now (not deleted, not expired), whatever its account. */
  live(id: string, now = Date.now()): SimFile | null {
    const file = this.files.get(id);
    return file && !file.deleted && now < file.expiresAt ? file : null;
  }

  async upload(request: Request, origin: string): Promise<FileAnswer> {
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > this.maxBytes + 64 * 1024) return { problem: tooLarge(this.maxBytes) };
    if (!/^multipart\/form-data/i.test(request.headers.get("content-type") ?? "")) {
      return {
        problem: { title: "Invalid request", detail: "The body must be multipart/form-data with a `content` part", status: 400 },
      };
    }
    let form: FormData;
    try {
      form = await request.formData();
    } catch {
      return { problem: { title: "Invalid request", detail: "The multipart body could not be parsed", status: 400 } };
    }
    const content = form.get("content");
    if (!(content instanceof Blob)) {
      return { problem: { title: "Invalid request", detail: "The `content` part (the file) is missing", status: 400 } };
    }
    if (content.size > this.maxBytes) return { problem: tooLarge(this.maxBytes) };
    const text = (name: string) => {
      const value = form.get(name);
      return typeof value === "string" ? value : undefined;
    };
    const filename = text("filename") ?? (content instanceof File ? content.name : "file");
    if (Buffer.byteLength(filename) > 255) {
      return { problem: { title: "Invalid request", detail: "The filename is longer than 255 bytes", status: 400 } };
    }
    let metadata: Record<string, unknown> = {};
    const metadataText = text("metadata");
    if (metadataText !== undefined) {
      try {
        metadata = JSON.parse(metadataText) as Record<string, unknown>;
      } catch {
        return { problem: { title: "Invalid request", detail: "`metadata` is not JSON", status: 400 } };
      }
    }
    const file = this.add({
      name: filename,
      contentType: text("type") ?? (content.type || "application/octet-stream"),
      content: new Uint8Array(await content.arrayBuffer()),
      metadata,
    });
    return { status: 201, body: this.toJSON(file, origin) };
  }

  get(id: string, origin: string): FileAnswer {
    const file = this.ownLive(id);
    return file ? { status: 200, body: this.toJSON(file, origin) } : { problem: NOT_FOUND };
  }

  download(id: string): FileAnswer {
    const file = this.ownLive(id);
    return file ? { status: 200, bytes: file.content, contentType: file.contentType } : { problem: NOT_FOUND };
  }

  delete(id: string): FileAnswer {
    const file = this.ownLive(id);
    if (!file) return { problem: NOT_FOUND };
    file.deleted = true;
    file.content = new Uint8Array();
    return { status: 204 };
  }

  /**
   * What the model sees of a create's input: each Files API URL of this simulator replaced by the
   * file as a data URL; or the 422 Replicate answers when one is not this account's live file.
   */
  modelInput(input: Record<string, unknown>, origin: string): { input: Record<string, unknown> } | { problem: ProblemBody } {
    let refused: string | null = null;
    let named = false;
    const visit = (value: unknown): unknown => {
      if (typeof value === "string") {
        const id = value.startsWith(`${origin}/v1/files/`) ? FILE_PATH.exec(new URL(value).pathname)?.[1] : undefined;
        if (id === undefined) return value;
        named = true;
        const file = this.ownLive(id);
        if (!file) {
          refused ??= value;
          return value;
        }
        return `data:${file.contentType};base64,${Buffer.from(file.content).toString("base64")}`;
      }
      if (Array.isArray(value)) return value.map(visit);
      if (typeof value === "object" && value !== null)
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v)]));
      return value;
    };
    const resolved = visit(input) as Record<string, unknown>;
    if (refused !== null) {
      return {
        problem: {
          title: "Input validation failed",
          detail: `- input: the file ${refused} does not exist, has expired or was deleted, or belongs to another account\n`,
          status: 422,
        },
      };
    }
    return { input: named ? resolved : input };
  }

  reset(): void {
    this.files.clear();
    this.readByModel.clear();
  }

  private ownLive(id: string): SimFile | null {
    const file = this.live(id);
    return file && file.account === OWN_ACCOUNT ? file : null;
  }

  private toJSON(file: SimFile, origin: string) {
    return {
      id: file.id,
      name: file.name,
      content_type: file.contentType,
      size: file.content.byteLength,
      etag: createHash("md5").update(file.content).digest("hex"),
      checksums: {
        sha256: createHash("sha256").update(file.content).digest("hex"),
        md5: createHash("md5").update(file.content).digest("hex"),
      },
      metadata: file.metadata,
      created_at: new Date(file.createdAt).toISOString(),
      expires_at: new Date(file.expiresAt).toISOString(),
      urls: { get: `${origin}/v1/files/${file.id}` },
    };
  }
}

const NOT_FOUND: ProblemBody = { detail: "The requested resource could not be found", status: 404 };

function tooLarge(maxBytes: number): ProblemBody {
  return { title: "File too large", detail: `Files may be at most ${maxBytes} bytes`, status: 413 };
}
