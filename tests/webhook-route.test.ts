import { createHmac, randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { handleOf, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";
import { deliveredStore } from "@/tests/support/test-engine";

const { sim } = useSimulatedReplicate();
const SECRET_BYTES = randomBytes(24);
const SECRET = `whsec_${SECRET_BYTES.toString("base64")}`;

function sign(id: string, timestamp: number, body: string, key: Buffer = SECRET_BYTES): string {
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

let counter = 0;
function prediction(status = "succeeded", id = `wh${Date.now().toString(36)}${(counter += 1)}`) {
  return {
    id,
    status,
    model: "owner/model",
    version: "hidden",
    input: { prompt: "p" },
    output: ["https://x/out.png"],
    error: null,
    logs: "",
    urls: {},
  };
}

function deliver(body: string, headers: Partial<Record<"id" | "timestamp" | "signature", string>> & { raw?: boolean } = {}) {
  const id = headers.id ?? `msg_${randomBytes(6).toString("hex")}`;
  const timestamp = headers.timestamp ?? String(Math.floor(Date.now() / 1000));
  const signature = headers.signature ?? sign(id, Number(timestamp), body);
  return webhook(
    new Request("http://localhost/api/ai/replicate/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
      },
      body,
    }),
  );
}

const lookup = (id: string) =>
  GET(new Request(`http://localhost/api/ai/replicate/${handleOf(id)}`), { params: Promise.resolve({ id: handleOf(id) }) });

beforeEach(() => {
  setEnv({ REPLICATE_WEBHOOK_SECRET: SECRET });
  deliveredStore().clear();
});

describe("webhook signatures", () => {
  it("accepts a valid delivery and hands the prediction to onPrediction (the store GET reads first)", async () => {
    const body = JSON.stringify(prediction());
    const response = await deliver(body);
    expect(response.status).toBe(200);
    const id = JSON.parse(body).id;
    const answer = await lookup(id);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual(JSON.parse(body));
    expect(sim.count("get")).toBe(0);
  });

  it("rejects a tampered body with 401 problem JSON and processes nothing", async () => {
    const original = prediction();
    const id = "msg_tampered";
    const ts = Math.floor(Date.now() / 1000);
    const tampered = JSON.stringify({ ...original, output: ["https://evil/out.png"] });
    const response = await deliver(tampered, { id, timestamp: String(ts), signature: sign(id, ts, JSON.stringify(original)) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ title: expect.any(String), detail: expect.any(String), status: 401 });
    expect(deliveredStore().size).toBe(0);
  });

  it("rejects a signature made with another secret", async () => {
    const id = "msg_wrong";
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(prediction());
    expect((await deliver(body, { id, timestamp: String(ts), signature: sign(id, ts, body, randomBytes(24)) })).status).toBe(401);
  });

  it.each([
    ["stale", -301],
    ["future", 301],
  ])("rejects a %s timestamp (more than 5 minutes away)", async (_name, offset) => {
    const id = "msg_time";
    const ts = Math.floor(Date.now() / 1000) + offset;
    const body = JSON.stringify(prediction());
    const response = await deliver(body, { id, timestamp: String(ts), signature: sign(id, ts, body) });
    expect(response.status).toBe(401);
    expect(deliveredStore().size).toBe(0);
  });

  it("accepts a header with several signatures when any one matches", async () => {
    const id = "msg_several";
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(prediction());
    const header = `v1,${randomBytes(32).toString("base64")} ${sign(id, ts, body)} v2,abc`;
    expect((await deliver(body, { id, timestamp: String(ts), signature: header })).status).toBe(200);
  });

  it("acknowledges a repeated webhook-id and does not process it again", async () => {
    const id = `msg_repeat_${counter}`;
    const ts = Math.floor(Date.now() / 1000);
    const running = prediction("processing");
    const first = JSON.stringify(running);
    const second = JSON.stringify({ ...running, status: "succeeded" });
    expect((await deliver(first, { id, timestamp: String(ts), signature: sign(id, ts, first) })).status).toBe(200);
    const repeat = await deliver(second, { id, timestamp: String(ts), signature: sign(id, ts, second) });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toMatchObject({ repeat: true });
    expect(deliveredStore().freshTerminal(running.id)).toBeUndefined();
  });

  it("fetches the default secret from Replicate once and caches it", async () => {
    sim.config.token = "r8_secret_fetch_token";
    setEnv({ REPLICATE_API_TOKEN: "r8_secret_fetch_token", REPLICATE_WEBHOOK_SECRET: "" });
    const key = Buffer.from(sim.webhookSecret.replace(/^whsec_/, ""), "base64");
    for (let i = 0; i < 3; i += 1) {
      const id = `msg_fetched_${i}`;
      const ts = Math.floor(Date.now() / 1000);
      const body = JSON.stringify(prediction());
      expect((await deliver(body, { id, timestamp: String(ts), signature: sign(id, ts, body, key) })).status).toBe(200);
    }
    sim.config.token = TOKEN;
    expect(sim.count("secret")).toBe(1);
  });
});

describe("what a signed delivery may carry", () => {
  it("a body nested far deeper than any prediction is a 400 problem, not a crash", async () => {
    const nested = "[".repeat(200_000) + "]".repeat(200_000);
    const body = JSON.stringify(prediction()).replace('"output":["https://x/out.png"]', `"output":${nested}`);
    const response = await deliver(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ status: 400, title: "Invalid webhook body" });
    expect(deliveredStore().size).toBe(0);
  });

  it("the token, in any encoding, is redacted before the prediction is kept and served", async () => {
    const echoes = [
      TOKEN,
      TOKEN.toUpperCase(),
      encodeURIComponent(`?t=${TOKEN}`).replaceAll("_", "%5F"),
      Buffer.from(`Bearer ${TOKEN}`).toString("base64"),
    ];
    const delivered = { ...prediction(), logs: echoes.join("\n"), output: echoes };
    expect((await deliver(JSON.stringify(delivered))).status).toBe(200);
    const answer = await lookup(delivered.id);
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).toContain("[redacted]");
    for (const echo of echoes) expect(text).not.toContain(echo.slice(4, -4));
  });
});
