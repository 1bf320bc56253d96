/**
 * The routes wired to the shared state on a real Redis: what one instance (this process's route
 * handlers, REDIS_URL set) does is seen by another instance (a second connection with the same
 * prefix, as a second process would have): the rate limit spent, the account paced after a 429,
 * a webhook id processed, a delivered prediction, an idempotency record.
 * Skipped without Debian's redis-server (see tests/support/redis-server.ts).
 */
import { createHmac, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { PACED_CHECK_MS } from "@/lib/server/shared-state/create-pacing";
import { bodyHash, idempotencyKey } from "@/lib/server/shared-state/idempotency";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { redisSharedState, type SharedState } from "@/lib/server/shared-state/shared-state";
import { hasRedisServer, useRedisServer } from "@/tests/support/redis-server";
import { jsonPost, setEnv, testEngine, useSimulatedReplicate } from "@/tests/support/route-env";

const redis = useRedisServer();
const { sim } = useSimulatedReplicate({ runMs: 20 });
const SECRET_BYTES = randomBytes(24);
const SECRET = `whsec_${SECRET_BYTES.toString("base64")}`;

let prefixes = 0;
const others: SharedState[] = [];
afterEach(async () => {
  await Promise.all(others.splice(0).map((state) => state.close()));
  await testEngine().shared().close();
  setEnv({ REDIS_URL: "", REDIS_KEY_PREFIX: "", REPLICATE_RATE_LIMIT: "" });
});

/** This process's routes on Redis under a fresh prefix, and "another instance" on the same. */
function twoInstances(extra: Record<string, string> = {}): SharedState {
  const keyPrefix = `wiring-${process.pid}-${(prefixes += 1)}:`;
  setEnv({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix, REPLICATE_WEBHOOK_SECRET: SECRET, ...extra });
  const other = redisSharedState(new RedisConnection({ url: redis.url, keyPrefix }));
  others.push(other);
  return other;
}

const post = (body: unknown, headers: Record<string, string> = {}) =>
  POST(jsonPost("http://localhost/api/ai/replicate", body, { headers }));

describe.skipIf(!hasRedisServer)("the routes on a shared Redis", () => {
  it("spend the client's rate limit where another instance counts it", async () => {
    const other = twoInstances({ REPLICATE_RATE_LIMIT: "2/min" });
    expect((await post({ prompt: "one" })).status).toBe(200);
    const rule = { limit: 2, windowMs: 60_000, text: "2/min" };
    // The anonymous client without TRUST_PROXY is "ip:unknown": one allowance left, on the other instance.
    expect(await other.rateLimits.take("ip:unknown", rule, Date.now())).toEqual({ allowed: true });
    const third = await post({ prompt: "three" });
    expect(third.status).toBe(429);
    expect(sim.predictions.size).toBe(1);
  });

  it("pace the whole account after a 429, so another instance waits for its slot too", async () => {
    const other = twoInstances({ REPLICATE_CREATES_PER_MINUTE: "600" });
    expect(await other.createPacing(600).reserve(Date.now())).toBe(0);
    sim.failNext("create", "429", { retryAfterSeconds: 0.2 });
    expect((await post({ prompt: "throttled once" })).status).toBe(200);
    // The other instance asks the account again PACED_CHECK_MS after its last read: paced, its
    // creates take one slot each (600 a minute: 100 ms apart), where unpaced they would all go at once.
    const pacing = other.createPacing(600);
    const at = Date.now() + PACED_CHECK_MS;
    await pacing.reserve(at);
    expect(await pacing.reserve(at)).toBe(100);
  });

  it("record a webhook delivery and its prediction where another instance finds them", async () => {
    const other = twoInstances();
    const prediction = {
      id: `wired${Date.now().toString(36)}`,
      status: "succeeded",
      input: {},
      output: ["https://x/o.png"],
      error: null,
      logs: "",
      urls: {},
    };
    const body = JSON.stringify(prediction);
    const id = `msg_${randomBytes(6).toString("hex")}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v1,${createHmac("sha256", SECRET_BYTES).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
    const delivered = await webhook(
      new Request("http://localhost/api/ai/replicate/webhook", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signature,
        },
        body,
      }),
    );
    expect(delivered.status).toBe(200);
    // A retry of it landing on the other instance is a repeat there.
    expect(await other.deliveryIds.firstTime(id)).toBe(false);
    expect(await other.deliveredPredictions.freshTerminal(prediction.id)).toEqual(prediction);
  });

  it("keep an Idempotency-Key's record where another instance answers the same prediction", async () => {
    const other = twoInstances();
    const response = await post({ prompt: "keyed" }, { "idempotency-key": '"k-wired-0123456789"', prefer: "respond-async" });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    await expect
      .poll(() =>
        other.idempotency.begin(
          idempotencyKey("ip:unknown", "k-wired-0123456789"),
          bodyHash(JSON.stringify({ prompt: "keyed" })),
        ),
      )
      .toEqual({
        kind: "created",
        predictionId: id,
      });
  });
});
