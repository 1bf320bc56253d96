/**
 * A real S3-protocol server on loopback for the S3 store's tests: @20minutes/s3rver (a maintained
 * fork of s3rver: pure JavaScript, no binary to download, Node 20), started on a free port with
 * one bucket, storing its objects in a temporary folder. It checks SigV4 signatures, pre-signed
 * URLs included. Null when the package is not installed, so the tests can skip with a hint.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const S3_SERVER_PACKAGE = "@20minutes/s3rver";

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** s3rver's fixed test credentials. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

export async function startS3Server(bucket = "kept-outputs"): Promise<S3TestServer | null> {
  let S3rver: S3rverClass;
  try {
    S3rver = createRequire(import.meta.url)(S3_SERVER_PACKAGE) as S3rverClass;
  } catch {
    return null;
  }
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
