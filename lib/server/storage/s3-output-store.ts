import "server-only";
// OUTPUT_STORAGE=s3: objects in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO), written
// with lib-storage's streamed upload (one PUT for a small file, a multipart upload in 5 MiB parts
// for a large one, aborted on error so no half object remains). URLs are under
// OUTPUT_S3_PUBLIC_URL when the bucket is served publicly (a CDN, an R2 custom domain), else
// pre-signed GET URLs that expire after OUTPUT_S3_URL_EXPIRES_SECONDS, signed afresh each time a
// prediction is answered.

// The AWS SDK is loaded at the store's first use, only when OUTPUT_STORAGE=s3 (an app without it
// needs none of its packages).

import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { checkStorageKey, IMMUTABLE_CACHE_CONTROL, type OutputStore, type PutOptions, type StoredObject } from "./output-store";

export interface S3StoreSettings {
  bucket: string;
  region: string;
  /** MinIO, R2, a test server; unset: AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Prepended to every key, e.g. `replicate/`. */
  prefix: string;
  publicUrl?: string;
  urlExpiresSeconds: number;
  /** Unset: the SDK's default chain (environment, shared files, an instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

// Bytes an upload holds in memory at most: PART_BYTES per part in flight, QUEUE parts at once.
const PART_BYTES = 5 * 1024 * 1024;
const QUEUE = 2;

type Sdk = typeof import("@aws-sdk/client-s3");

export class S3OutputStore implements OutputStore {
  private opened?: Promise<{ sdk: Sdk; client: S3Client }>;

  constructor(private readonly settings: S3StoreSettings) {}

  /** The SDK and its client, loaded and built at first use. */
  private open(): Promise<{ sdk: Sdk; client: S3Client }> {
    const { settings } = this;
    this.opened ??= import("@aws-sdk/client-s3").then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: settings.region,
        endpoint: settings.endpoint,
        forcePathStyle: settings.forcePathStyle,
        credentials: settings.credentials,
        followRegionRedirects: true,
        // Several S3-compatible servers refuse the newer default checksum headers; S3 does not need them.
        ...(settings.endpoint
          ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
          : {}),
      }),
    }));
    return this.opened;
  }

  /** The S3 client (built at first use). */
  async client(): Promise<S3Client> {
    return (await this.open()).client;
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<void> {
    const [{ client }, { Upload }] = await Promise.all([this.open(), import("@aws-sdk/lib-storage")]);
    const upload = new Upload({
      client,
      queueSize: QUEUE,
      partSize: PART_BYTES,
      leavePartsOnError: false,
      params: {
        Bucket: this.settings.bucket,
        Key: this.objectKey(key),
        Body: body,
        ContentType: options.contentType,
        ContentLength: options.size,
        CacheControl: IMMUTABLE_CACHE_CONTROL,
      },
    });
    // Failing the body (rather than upload.abort(), which returns at once) makes lib-storage abort
    // the multipart upload before done() rejects: no parts are left behind.
    const abort = () => body.destroy(options.signal?.reason);
    options.signal?.throwIfAborted();
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      await upload.done();
    } catch (error) {
      throw options.signal?.aborted ? options.signal.reason : error;
    } finally {
      options.signal?.removeEventListener("abort", abort);
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    const { sdk, client } = await this.open();
    try {
      const answer = await client.send(new sdk.HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return {
        size: answer.ContentLength ?? 0,
        contentType: answer.ContentType ?? "application/octet-stream",
        etag: answer.ETag ?? "",
      };
    } catch (error) {
      if (isNotFound(sdk, error)) return null;
      throw error;
    }
  }

  async read(key: string): Promise<Readable | null> {
    const { sdk, client } = await this.open();
    try {
      const answer = await client.send(new sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return answer.Body as Readable;
    } catch (error) {
      if (isNotFound(sdk, error)) return null;
      throw error;
    }
  }

  /** Removes the object (nothing when there is none): `npm run doctor` cleans up its probe. */
  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.open();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
  }

  async url(key: string): Promise<string> {
    const objectKey = this.objectKey(key);
    if (this.settings.publicUrl) return `${this.settings.publicUrl}/${objectKey.split("/").map(encodeURIComponent).join("/")}`;
    const [{ sdk, client }, { getSignedUrl }] = await Promise.all([this.open(), import("@aws-sdk/s3-request-presigner")]);
    const command = new sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: objectKey });
    return getSignedUrl(client, command, { expiresIn: this.settings.urlExpiresSeconds });
  }

  private objectKey(key: string): string {
    return this.settings.prefix + checkStorageKey(key);
  }
}

function isNotFound(sdk: Sdk, error: unknown): boolean {
  if (error instanceof sdk.S3ServiceException)
    return error.$metadata.httpStatusCode === 404 || error.name === "NotFound" || error.name === "NoSuchKey";
  return false;
}
