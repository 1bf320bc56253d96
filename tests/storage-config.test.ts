import { describe, expect, it } from "vitest";
import { Problem } from "@/lib/server/problem";
import { parseStorageConfig, REPLICATE_FILE_HOSTS } from "@/lib/server/storage/storage-config";

/** The configuration problem `env` is refused with (the test fails if it is accepted). */
function problemOf(env: Record<string, string>): Problem {
  let refusal: unknown;
  try {
    parseStorageConfig(env);
  } catch (error) {
    refusal = error;
  }
  expect(refusal).toBeInstanceOf(Problem);
  return refusal as Problem;
}

describe("OUTPUT_STORAGE", () => {
  it("is off unless set: nothing is kept", () => {
    expect(parseStorageConfig({})).toEqual({ kind: "off" });
    expect(parseStorageConfig({ OUTPUT_STORAGE: "  " })).toEqual({ kind: "off" });
    expect(parseStorageConfig({ OUTPUT_STORAGE: "off", OUTPUT_S3_BUCKET: "" })).toEqual({ kind: "off" });
  });

  it("an unknown back end is a 500 problem naming the variable", () => {
    const problem = problemOf({ OUTPUT_STORAGE: "gcs" });
    expect(problem.status).toBe(500);
    expect(problem.title).toBe("Server configuration error");
    expect(problem.detail).toBe("OUTPUT_STORAGE must be off, fs or s3.");
  });
});

describe("fs", () => {
  it("defaults: .data/outputs, 100 MiB a file, 60 s a file, 4 at once, Replicate's file hosts", () => {
    const config = parseStorageConfig({ OUTPUT_STORAGE: "fs", REPLICATE_API_TOKEN: "r8_token" });
    expect(config).toMatchObject({
      kind: "fs",
      dir: ".data/outputs",
      limits: { maxBytes: 100 * 1024 * 1024, timeoutMs: 60_000, concurrency: 4 },
      sourceHosts: REPLICATE_FILE_HOSTS,
    });
  });

  it("signs with a key derived from the token, or from OUTPUT_URL_SECRET when set", () => {
    const fromToken = parseStorageConfig({ OUTPUT_STORAGE: "fs", REPLICATE_API_TOKEN: "r8_token" });
    const fromSecret = parseStorageConfig({
      OUTPUT_STORAGE: "fs",
      REPLICATE_API_TOKEN: "r8_token",
      OUTPUT_URL_SECRET: "s".repeat(32),
    });
    if (fromToken.kind !== "fs" || fromSecret.kind !== "fs") throw new Error("expected fs");
    expect(fromToken.signingKey).toHaveLength(32);
    expect(fromToken.signingKey.equals(fromSecret.signingKey)).toBe(false);
    // Derived, never the token itself.
    expect(fromToken.signingKey.toString("utf8")).not.toContain("r8_token");
  });

  it("without any secret to sign with, says which variable to set", () => {
    expect(problemOf({ OUTPUT_STORAGE: "fs" }).detail).toContain("OUTPUT_URL_SECRET");
    expect(problemOf({ OUTPUT_STORAGE: "fs", OUTPUT_URL_SECRET: "short" }).detail).toBe(
      "OUTPUT_URL_SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`).",
    );
  });

  it("the simulator's host is a file host when REPLICATE_API_BASE_URL points at it", () => {
    const config = parseStorageConfig({
      OUTPUT_STORAGE: "fs",
      REPLICATE_API_TOKEN: "t",
      REPLICATE_API_BASE_URL: "http://127.0.0.1:4010/v1",
    });
    expect(config.kind !== "off" && config.sourceHosts).toEqual([...REPLICATE_FILE_HOSTS, "127.0.0.1:4010"]);
    const real = parseStorageConfig({
      OUTPUT_STORAGE: "fs",
      REPLICATE_API_TOKEN: "t",
      REPLICATE_API_BASE_URL: "https://api.replicate.com/v1",
    });
    expect(real.kind !== "off" && real.sourceHosts).toEqual(REPLICATE_FILE_HOSTS);
  });

  it("limits and hosts can be set; malformed ones are named", () => {
    const config = parseStorageConfig({
      OUTPUT_STORAGE: "fs",
      REPLICATE_API_TOKEN: "t",
      OUTPUT_MAX_BYTES: "5000",
      OUTPUT_COPY_TIMEOUT_SECONDS: "9",
      OUTPUT_COPY_CONCURRENCY: "2",
      OUTPUT_SOURCE_HOSTS: "Files.Example.com, *.cdn.example.com,127.0.0.1:8080",
    });
    expect(config).toMatchObject({
      limits: { maxBytes: 5000, timeoutMs: 9000, concurrency: 2 },
      sourceHosts: ["files.example.com", "*.cdn.example.com", "127.0.0.1:8080"],
    });
    const problem = problemOf({
      OUTPUT_STORAGE: "fs",
      REPLICATE_API_TOKEN: "t",
      OUTPUT_MAX_BYTES: "lots",
      OUTPUT_COPY_CONCURRENCY: "0",
      OUTPUT_SOURCE_HOSTS: "a b",
    });
    expect(problem.detail).toContain("OUTPUT_MAX_BYTES must be a number");
    expect(problem.detail).toContain("OUTPUT_COPY_CONCURRENCY must be at least 1");
    expect(problem.detail).toContain("OUTPUT_SOURCE_HOSTS must be host names");
  });
});

describe("s3", () => {
  const base = { OUTPUT_STORAGE: "s3", OUTPUT_S3_BUCKET: "my-outputs" };

  it("a missing bucket is a configuration error naming OUTPUT_S3_BUCKET", () => {
    expect(problemOf({ OUTPUT_STORAGE: "s3" }).detail).toBe("OUTPUT_S3_BUCKET is required when OUTPUT_STORAGE=s3.");
    expect(problemOf({ OUTPUT_STORAGE: "s3", OUTPUT_S3_BUCKET: " " }).detail).toBe(
      "OUTPUT_S3_BUCKET is required when OUTPUT_STORAGE=s3.",
    );
  });

  it("AWS defaults: us-east-1, virtual-host style, pre-signed URLs for a day, the SDK's own credentials", () => {
    expect(parseStorageConfig(base)).toMatchObject({
      kind: "s3",
      s3: {
        bucket: "my-outputs",
        region: "us-east-1",
        forcePathStyle: false,
        prefix: "",
        urlExpiresSeconds: 86_400,
        credentials: undefined,
      },
    });
  });

  it("a custom endpoint (MinIO, R2) goes path-style unless told otherwise", () => {
    const endpoint = { ...base, OUTPUT_S3_ENDPOINT: "http://127.0.0.1:9000/", AWS_REGION: "auto" };
    expect(parseStorageConfig(endpoint)).toMatchObject({
      s3: { endpoint: "http://127.0.0.1:9000", region: "auto", forcePathStyle: true },
    });
    expect(parseStorageConfig({ ...endpoint, OUTPUT_S3_FORCE_PATH_STYLE: "false" })).toMatchObject({
      s3: { forcePathStyle: false },
    });
  });

  it("public URL, prefix, expiry and explicit credentials", () => {
    const config = parseStorageConfig({
      ...base,
      OUTPUT_S3_PUBLIC_URL: "https://cdn.example.com/",
      OUTPUT_S3_PREFIX: "replicate/outputs/",
      OUTPUT_S3_URL_EXPIRES_SECONDS: "900",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI",
    });
    expect(config).toMatchObject({
      s3: {
        publicUrl: "https://cdn.example.com",
        prefix: "replicate/outputs/",
        urlExpiresSeconds: 900,
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI" },
      },
    });
  });

  it("names malformed values and never repeats them", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG";
    const problem = problemOf({
      ...base,
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      OUTPUT_S3_URL_EXPIRES_SECONDS: "604801",
      OUTPUT_S3_PREFIX: "../up",
      OUTPUT_S3_ENDPOINT: `ftp://${secret}`,
    });
    expect(problem.detail).toContain("OUTPUT_S3_URL_EXPIRES_SECONDS must be at most 604800");
    expect(problem.detail).toContain("OUTPUT_S3_PREFIX must be folder names");
    expect(problem.detail).toContain("OUTPUT_S3_ENDPOINT must be an http(s) URL");
    expect(problem.detail).not.toContain(secret);
    expect(problemOf({ ...base, AWS_ACCESS_KEY_ID: "AKIDEXAMPLE" }).detail).toContain(
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together",
    );
  });
});
