/**
 * `Idempotency-Key` on POST /api/ai/replicate, in one process (the in-memory records): the same
 * key and body never create twice, whatever mode the repeat asks for; another body is a 422; a key
 * whose first request is still creating is a 409; keys are the caller's own. Across instances the
 * same rules run on Redis (tests/shared-state-redis.test.ts, tests/e2e/multi-instance.e2e.test.ts).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { claimCreate, readIdempotencyKey } from "@/lib/server/idempotent-create";
import { bodyHash, CREATING_TTL_MS, idempotencyKey, MemoryIdempotencyStore } from "@/lib/server/shared-state/idempotency";
import { readSseEvents } from "@/lib/shared/sse";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { guardSettings } from "@/lib/server/config";
import { jsonPost, setEnv, until, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 40 });
const URL_ = "http://localhost/api/ai/replicate";

const keyed = (key: string, body: unknown = { prompt: "a lighthouse" }, headers: Record<string, string> = {}) =>
  POST(jsonPost(URL_, body, { headers: { "idempotency-key": key, ...headers } }));
const freshKey = () => `"${randomUUID()}"`;
const creates = () => sim.requests.filter((request) => request.kind === "create");

describe("the same key with the same body", () => {
  it("answers the first request's prediction and creates once (sync)", async () => {
    const key = freshKey();
    const first = await keyed(key);
    const second = await keyed(key);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const [a, b] = [await first.json(), await second.json()];
    expect(b.id).toBe(a.id);
    expect(b.status).toBe("succeeded");
    expect(creates()).toHaveLength(1);
  });

  it("answers 202 with the same Location in async mode", async () => {
    const key = freshKey();
    const first = await keyed(key, { prompt: "[never] p" }, { prefer: "respond-async" });
    const second = await keyed(key, { prompt: "[never] p" }, { prefer: "respond-async" });
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.headers.get("location")).toBe(first.headers.get("location"));
    expect(creates()).toHaveLength(1);
  });

  it("waits for a prediction an async request created, when the repeat is sync", async () => {
    const key = freshKey();
    const { id } = await (await keyed(key, { prompt: "[run:60] p" }, { prefer: "respond-async" })).json();
    const repeat = await keyed(key, { prompt: "[run:60] p" });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toMatchObject({ id, status: "succeeded" });
    expect(creates()).toHaveLength(1);
  });

  it("follows it as a live stream when the repeat asks for one, ending in its `done`", async () => {
    const key = freshKey();
    const { id } = await (await keyed(key, { prompt: "[run:60] p" })).json();
    const repeat = await keyed(key, { prompt: "[run:60] p" }, { accept: "text/event-stream" });
    const events = [];
    for await (const event of readSseEvents(repeat.body!)) events.push(event);
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ id, status: "succeeded" });
    expect(creates()).toHaveLength(1);
  });

  it("accepts a bare token as well as a quoted string", async () => {
    const key = randomUUID();
    await keyed(key);
    await keyed(`"${key}"`);
    expect(creates()).toHaveLength(1);
  });
});

describe("the same key otherwise", () => {
  it("answers 422 problem JSON for another body, creating nothing", async () => {
    const key = freshKey();
    await keyed(key, { prompt: "one" });
    const other = await keyed(key, { prompt: "two" });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ status: 422, title: "Idempotency-Key reused" });
    expect(creates()).toHaveLength(1);
  });

  it("answers 409 with Retry-After while the first request is still creating", async () => {
    // A create held by Prefer: wait keeps the first request "creating" for its whole hold.
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "1" });
    const key = freshKey();
    const first = keyed(key, { prompt: "[run:300] p" });
    await until(() => sim.predictions.size === 1);
    const second = await keyed(key, { prompt: "[run:300] p" });
    expect(second.status).toBe(409);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(await second.json()).toMatchObject({ status: 409, title: "Request in progress" });
    expect((await first).status).toBe(200);
    expect(creates()).toHaveLength(1);
  });

  it("is scoped as documented: without an identity or TRUST_PROXY every anonymous caller shares one scope, so the key itself is the secret", async () => {
    const key = freshKey();
    const a = await (await keyed(key, undefined, { "x-forwarded-for": "203.0.113.7" })).json();
    const b = await (await keyed(key, undefined, { "x-forwarded-for": "198.51.100.9" })).json();
    expect(b.id).toBe(a.id);
    expect(creates()).toHaveLength(1);
  });

  it("is the caller's own: another client's same key creates its own prediction", async () => {
    setEnv({ TRUST_PROXY: "1" });
    const key = freshKey();
    const a = await (await keyed(key, undefined, { "x-forwarded-for": "203.0.113.7" })).json();
    const b = await (await keyed(key, undefined, { "x-forwarded-for": "198.51.100.9" })).json();
    expect(b.id).not.toBe(a.id);
    expect(creates()).toHaveLength(2);
    setEnv({ TRUST_PROXY: "" });
  });

  it("is free again when Replicate refused the create (nothing was created)", async () => {
    const key = freshKey();
    sim.failNext("create", "429", { retryAfterSeconds: 120 });
    expect((await keyed(key)).status).toBe(429);
    expect((await keyed(key)).status).toBe(200);
    expect(creates().filter((request) => request.status === 201)).toHaveLength(1);
  });

  it("is free again when an input file's upload failed (nothing was created)", async () => {
    const key = freshKey();
    const body = { prompt: "large", image: seedPngDataUrl(7, 300 * 1024) };
    sim.failNext("files", "500");
    const failed = await keyed(key, body);
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ title: "Input file not uploaded" });
    const retried = await keyed(key, body);
    expect(retried.status).toBe(200);
    expect(creates()).toHaveLength(1);
  });

  it("stays taken when the create's answer was lost (a prediction may exist): 409, never a second create", async () => {
    const key = freshKey();
    sim.failNext("create", "drop");
    expect((await keyed(key)).status).toBe(502);
    expect((await keyed(key)).status).toBe(409);
    expect(creates()).toHaveLength(1);
  });
});

describe("Idempotency-Key syntax", () => {
  it.each([
    ["empty quotes", '""'],
    ["shorter than 16 characters (a key is a secret)", '"order-42"'],
    ["a space in a token", "two words"],
    ["an unescaped quote", '"a"b"'],
    ["too long", `"${"k".repeat(256)}"`],
    ["control characters", '"a\tb"'],
  ])("refuses %s with 400 problem JSON before reading anything", async (_name, value) => {
    const response = await keyed(value);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ status: 400, title: "Invalid Idempotency-Key" });
    expect(creates()).toHaveLength(0);
  });

  it("unescapes a structured-field string", () => {
    expect(readIdempotencyKey(new Headers({ "idempotency-key": '"0123456789abcdef-a\\"b\\\\c"' }))).toBe(
      '0123456789abcdef-a"b\\c',
    );
    expect(readIdempotencyKey(new Headers())).toBeUndefined();
  });
});

describe("when the shared store fails", () => {
  it("answers 503 before creating when the record cannot be begun", async () => {
    // Nothing listens on port 1: the connection is refused at once.
    setEnv({ REDIS_URL: "redis://127.0.0.1:1" });
    try {
      const response = await keyed(freshKey());
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 503, title: "Shared state unavailable" });
      expect(creates()).toHaveLength(0);
    } finally {
      setEnv({ REDIS_URL: "" });
    }
  });

  it("still answers a prediction whose record could not be completed; a retry then gets 409 until the record expires", async () => {
    const store = new MemoryIdempotencyStore();
    const failingStore = Object.assign(Object.create(store) as MemoryIdempotencyStore, {
      complete: () => Promise.reject(new Error("down")),
    });
    const request = jsonPost(URL_, {}, { headers: { "idempotency-key": '"k-0123456789abcdef"' } });
    const claim = await claimCreate(
      request,
      { caller: { identity: "u" }, guard: guardSettings() },
      { prompt: "p" },
      failingStore,
    );
    expect(claim.kind).toBe("create");
    if (claim.kind !== "create") return;
    await expect(claim.track(Promise.resolve("answered").then((value) => (claim.created("p1"), value)))).resolves.toBe(
      "answered",
    );
    // The repeat's record: scope "id:u" (the caller's client key), its key, the same body.
    const record = idempotencyKey("id:u", "k-0123456789abcdef");
    const hash = bodyHash(JSON.stringify({ prompt: "p" }));
    const now = Date.now();
    expect(await store.begin(record, hash, now + 1000)).toMatchObject({ kind: "in-progress" });
    expect((await store.begin(record, hash, now + CREATING_TTL_MS + 1000)).kind).toBe("new");
  });
});
