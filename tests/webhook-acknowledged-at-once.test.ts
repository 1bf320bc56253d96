/**
 * A valid webhook delivery is recorded and answered 2xx whatever the output storage does: the
 * outputs' copies run after the answer (lib/server/after-answer.ts), bounded by
 * OUTPUT_COPY_TIMEOUT_SECONDS; what they miss is kept by a repeat delivery or the next read, and
 * outputs kept after the answer outlive Replicate's copy (its file host gone).
 */
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { settleAfterAnswer } from "@/lib/server/after-answer";
import type { KeptPrediction } from "@/lib/server/storage/keep-outputs";
import { turnsUntil } from "@/tests/support/fake-clock";
import { handleOf, setEnv } from "@/tests/support/route-env";
import { startFilesHost, type FilesHost } from "@/tests/support/output-files-host";
import { deliveredStore, setVariables } from "@/tests/support/test-engine";

const KEY = randomBytes(24);
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
let host: FilesHost;
let dir: string;
let counter = 0;

beforeAll(async () => {
  host = await startFilesHost();
});
afterAll(() => host.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "webhook-ack-"));
  setEnv({
    REPLICATE_WEBHOOK_SECRET: `whsec_${KEY.toString("base64")}`,
    OUTPUT_STORAGE: "fs",
    OUTPUT_STORAGE_DIR: dir,
    OUTPUT_SOURCE_HOSTS: "127.0.0.1",
    OUTPUT_COPY_TIMEOUT_SECONDS: "5",
  });
  deliveredStore().clear();
  host.requests.length = 0;
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(async () => {
  vi.useRealTimers();
  await settleAfterAnswer();
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
  setVariables({
    OUTPUT_STORAGE: undefined,
    OUTPUT_STORAGE_DIR: undefined,
    OUTPUT_SOURCE_HOSTS: undefined,
    OUTPUT_COPY_TIMEOUT_SECONDS: undefined,
  });
});

function succeeded(path: string) {
  const id = `ack${(counter += 1).toString().padStart(4, "0")}${randomBytes(4).toString("hex")}`;
  return {
    id,
    status: "succeeded",
    model: "owner/model",
    version: "v",
    input: { prompt: "p" },
    output: [host.url(path)],
    error: null,
    logs: "",
    urls: {},
  };
}

function deliver(prediction: object, messageId = `msg_${randomBytes(6).toString("hex")}`): Promise<Response> {
  const body = JSON.stringify(prediction);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v1,${createHmac("sha256", KEY).update(`${messageId}.${timestamp}.${body}`).digest("base64")}`;
  return webhook(
    new Request("http://localhost/api/ai/replicate/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": messageId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
      },
      body,
    }),
  );
}

const lookup = async (id: string) =>
  (await (
    await GET(new Request(`http://localhost/api/ai/replicate/${handleOf(id)}`), { params: Promise.resolve({ id: handleOf(id) }) })
  ).json()) as KeptPrediction;

/** A file host that holds each answer until the test lets it go. */
function heldFile(path: string): { release: () => void } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  host.serve(path, async (_request, response) => {
    await gate;
    response.writeHead(200, { "content-type": "image/png", "content-length": String(PNG.length) }).end(PNG);
  });
  return { release };
}

describe("a webhook delivery is acknowledged before its outputs are copied", () => {
  it("answers 200 while the file host has not sent a byte, then keeps the outputs after the answer", async () => {
    const prediction = succeeded("/held.png");
    const held = heldFile("/held.png");
    const response = await deliver(prediction);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, repeat: false });
    // Answered with the copy still waiting on the host: nothing kept yet.
    await turnsUntil(() => host.requests.length === 1);
    expect(existsSync(join(dir, prediction.id, "manifest.json"))).toBe(false);
    held.release();
    await settleAfterAnswer();
    expect(existsSync(join(dir, prediction.id, "manifest.json"))).toBe(true);
  });

  it("outputs kept after the answer outlive Replicate's files: a read an hour later answers the copies", async () => {
    const prediction = succeeded("/once.png");
    host.file("/once.png", PNG, "image/png");
    expect((await deliver(prediction)).status).toBe(200);
    await settleAfterAnswer();
    // Replicate removed the files (an hour after the end) and nobody asked before.
    host.serve("/once.png", (_request, response) => void response.writeHead(404).end());
    const answer = await lookup(prediction.id);
    expect(answer).toMatchObject({ status: "succeeded", outputs_kept: true, replicate_output: prediction.output });
    expect(String((answer.output as string[])[0])).not.toContain(host.origin);
    expect(host.requests).toHaveLength(1);
  });
});

describe("copies after the answer are bounded, and tried again", () => {
  it("gives up at OUTPUT_COPY_TIMEOUT_SECONDS (fake time), and the next read keeps the outputs", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const prediction = succeeded("/stuck.png");
    const held = heldFile("/stuck.png");
    expect((await deliver(prediction)).status).toBe(200);
    await turnsUntil(() => host.requests.length === 1);
    await vi.advanceTimersByTimeAsync(5_000);
    await settleAfterAnswer();
    expect(existsSync(join(dir, prediction.id, "manifest.json"))).toBe(false);
    expect(vi.mocked(console.warn).mock.calls.join("\n")).toMatch(/"outputs_not_kept".*1 of 1 output files were not kept/);
    held.release();
    vi.useRealTimers();
    host.file("/stuck.png", PNG, "image/png");
    expect(await lookup(prediction.id)).toMatchObject({ outputs_kept: true });
    expect(existsSync(join(dir, prediction.id, "manifest.json"))).toBe(true);
  });

  it("a repeat delivery (Replicate's retry) copies again what a failed copy missed", async () => {
    const prediction = succeeded("/flaky.png");
    host.serve("/flaky.png", (_request, response) => void response.writeHead(503).end());
    const messageId = "msg_repeat_after_failure";
    expect((await deliver(prediction, messageId)).status).toBe(200);
    await settleAfterAnswer();
    expect(existsSync(join(dir, prediction.id, "manifest.json"))).toBe(false);
    host.file("/flaky.png", PNG, "image/png");
    const repeat = await deliver(prediction, messageId);
    expect(await repeat.json()).toEqual({ received: true, repeat: true });
    await settleAfterAnswer();
    expect(existsSync(join(dir, prediction.id, "manifest.json"))).toBe(true);
  });

  it("a delivery that is not succeeded copies nothing", async () => {
    const prediction = { ...succeeded("/never.png"), status: "failed", error: "boom" };
    expect((await deliver(prediction)).status).toBe(200);
    await settleAfterAnswer();
    expect(host.requests).toHaveLength(0);
  });
});
