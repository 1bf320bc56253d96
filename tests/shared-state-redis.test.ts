import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Problem } from "@/lib/server/problem";
import { DEFAULT_KEY_PREFIX, parseRedisConfig, redisSecretValues } from "@/lib/server/shared-state/redis-config";
import { persistenceWarning, RedisConnection, SharedStateUnavailable } from "@/lib/server/shared-state/redis-connection";
import { redisSharedState, sharedStateFor, type SharedState } from "@/lib/server/shared-state/shared-state";
import { hasRedisServer, useRedisServer } from "@/tests/support/redis-server";

const redis = useRedisServer();
const T0 = 1_800_000_000_000;
const RULE = { limit: 3, windowMs: 60_000, text: "3/min" };
let prefixes = 0;
const prefix = () => `redis-test-${process.pid}-${(prefixes += 1)}:`;
const open: SharedState[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((state) => state.close()));
});

describe("REDIS_URL and REDIS_KEY_PREFIX", () => {
  it("are unset when empty: in-process state under the project's prefix", () => {
    expect(parseRedisConfig({ REDIS_URL: " ", REDIS_KEY_PREFIX: "" })).toEqual({ url: undefined, keyPrefix: DEFAULT_KEY_PREFIX });
    expect(sharedStateFor(undefined).kind).toBe("memory");
  });

  it("accept redis:// and rediss:// (TLS, e.g. Upstash) and a prefix of one's own", () => {
    expect(parseRedisConfig({ REDIS_URL: "rediss://default:pw@eu1.example.io:6379", REDIS_KEY_PREFIX: "app-b:" })).toEqual({
      url: "rediss://default:pw@eu1.example.io:6379",
      keyPrefix: "app-b:",
    });
    expect(parseRedisConfig({ REDIS_URL: "redis://127.0.0.1:7000/2" }).url).toBe("redis://127.0.0.1:7000/2");
  });

  it.each([
    ["REDIS_URL", { REDIS_URL: "https://user:secretpass@example.com" }],
    ["REDIS_URL", { REDIS_URL: "localhost:6379" }],
    ["REDIS_KEY_PREFIX", { REDIS_KEY_PREFIX: "has space" }],
  ])("refuse a malformed %s with a 500 naming it, never its value", (name, env) => {
    try {
      parseRedisConfig(env);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(Problem);
      expect((error as Problem).detail).toContain(name);
      expect((error as Problem).detail).not.toContain("secretpass");
    }
  });

  it("give the URL's password to the log's redaction list", () => {
    expect(redisSecretValues({ REDIS_URL: "rediss://default:s3cr%2Fet@host:6379" })).toEqual(["s3cr%2Fet", "s3cr/et"]);
    expect(redisSecretValues({ REDIS_URL: "redis://127.0.0.1:6379" })).toEqual([]);
  });

  it("build nothing that connects until a piece is used", async () => {
    const warn = vi.fn();
    // Nothing listens on port 1: a connection attempt would fail and warn.
    const connection = new RedisConnection({ url: "redis://127.0.0.1:1", keyPrefix: prefix(), warn, commandTimeoutMs: 200 });
    const state = redisSharedState(connection);
    expect(warn).not.toHaveBeenCalled();
    await expect(state.deliveryIds.firstTime("x")).rejects.toBeInstanceOf(SharedStateUnavailable);
    expect(warn).toHaveBeenCalledTimes(1);
    await state.close();
  });
});

describe.skipIf(!hasRedisServer)("two processes racing on one Redis", () => {
  /**
   * Runs `count` operations at once in this process and `count` in a second Node process, both
   * connected before either starts; resolves to all the answers, theirs first.
   */
  async function race<T>(
    operation: "rate" | "idempotency" | "spend",
    count: number,
    ours: (state: SharedState) => Promise<T>,
  ): Promise<T[]> {
    const keyPrefix = prefix();
    const here = redisSharedState(new RedisConnection({ url: redis.url, keyPrefix }));
    open.push(here);
    await here.deliveryIds.firstTime("warm-up");
    const child = spawn(
      process.execPath,
      [
        "--conditions=react-server",
        "--import",
        "tsx",
        "tests/support/shared-state-racer.ts",
        redis.url,
        keyPrefix,
        operation,
        String(count),
        String(T0),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe("ready");
    child.stdin!.write("go\n");
    const [theirs, ...mine] = await Promise.all([lines.next(), ...Array.from({ length: count }, () => ours(here))]);
    child.stdin!.end();
    return [...(JSON.parse(theirs.value as string) as T[]), ...(mine as T[])];
  }

  it("a client limited to 3/min gets 3 in total across both processes", async () => {
    const answers = await race("rate", 5, async (state) => state.rateLimits.take("id:racer", RULE, T0));
    expect(answers.filter((answer) => answer.allowed)).toHaveLength(3);
  }, 30_000);

  it("a budget of 3.5 model-seconds lets 3 reservations of 1 s through across both processes, never a 4th", async () => {
    const budget = { key: "caller:racer", limitMs: 3500, windowMs: 86_400_000 };
    const answers = await race("spend", 5, (state) => state.spend.reserve(`here-${Math.random()}`, [budget], 1000, T0));
    expect(answers.filter((answer) => answer.ok)).toHaveLength(3);
    expect(answers.filter((answer) => !answer.ok).every((answer) => answer.usage[0].usedMs === 3000)).toBe(true);
  }, 30_000);

  it("one idempotency key creates once across both processes", async () => {
    const kinds = (await race("idempotency", 3, (state) => state.idempotency.begin("racer-key", "body-hash", T0))).map(
      (answer) => answer.kind,
    );
    expect(kinds.filter((kind) => kind === "new")).toHaveLength(1);
    expect(kinds.filter((kind) => kind === "in-progress")).toHaveLength(5);
  }, 30_000);
});

describe.skipIf(!hasRedisServer)("when Redis fails", () => {
  afterEach(() => redis.ensureRunning());

  it("fails fast with one typed 503 and one warning per outage, and recovers by itself", async () => {
    const calls = vi.fn();
    const connection = new RedisConnection({ url: redis.url, keyPrefix: prefix(), warn: calls });
    // The outage warnings (the test Redis also warns once that it has no persistence).
    const outages = () => calls.mock.calls.filter(([event]) => event === "shared_state_unavailable").length;
    const state = redisSharedState(connection);
    open.push(state);
    const take = async (now: number) => state.rateLimits.take("id:outage", RULE, now);
    expect(await take(T0)).toEqual({ allowed: true });

    // Outage 1: the server stops (connection refused while it is away).
    await redis.stop();
    for (let i = 0; i < 5; i += 1) {
      const failure = await take(T0).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SharedStateUnavailable);
      expect((failure as Problem).status).toBe(503);
      expect((failure as Problem).headers["Retry-After"]).toBe("5");
    }
    expect(outages()).toBe(1);

    // Back, empty (no persistence): the scripts are loaded again and the counts start afresh.
    await redis.start();
    await vi.waitFor(async () => expect(await take(T0)).toEqual({ allowed: true }), { timeout: 15_000, interval: 100 });
    expect(outages()).toBe(1);

    // Outage 2: the server freezes (up, answering nothing): the command timeout ends each call.
    redis.freeze();
    try {
      await expect(take(T0)).rejects.toBeInstanceOf(SharedStateUnavailable);
      await expect(state.idempotency.begin("k", "h", T0)).rejects.toBeInstanceOf(SharedStateUnavailable);
      expect(outages()).toBe(2);
    } finally {
      redis.thaw();
    }
    await vi.waitFor(async () => expect((await state.idempotency.begin("k2", "h", T0)).kind).toBe("new"), {
      timeout: 15_000,
      interval: 100,
    });
    expect(outages()).toBe(2);
  }, 60_000);

  it("hears prediction-ended messages again after Redis restarts", async () => {
    const keyPrefix = prefix();
    const warn = vi.fn();
    const [publisher, listener] = [0, 1].map(() => redisSharedState(new RedisConnection({ url: redis.url, keyPrefix, warn })));
    open.push(publisher, listener);
    const heard: string[] = [];
    await listener.predictionEvents.onEnded((p) => heard.push(p.id));
    await redis.stop();
    await redis.start();
    const ended = { id: "afterrestart1", status: "succeeded" } as never;
    await vi.waitFor(
      async () => {
        await publisher.predictionEvents.publishEnded(ended).catch(() => undefined);
        expect(heard).toContain("afterrestart1");
      },
      { timeout: 15_000, interval: 200 },
    );
  }, 60_000);
});

describe("Idempotency-Keys outlive a Redis restart only with persistence", () => {
  it("reads INFO persistence: an append-only file is required, snapshots alone are not enough", () => {
    expect(persistenceWarning("# Persistence\r\nloading:0\r\naof_enabled:1\r\n")).toBeNull();
    expect(persistenceWarning("# Persistence\r\naof_enabled:0\r\nrdb_last_save_time:1\r\n")).toMatch(
      /aof_enabled:0.*forgets every Idempotency-Key.*appendonly yes/s,
    );
    expect(persistenceWarning("# Persistence\r\n")).toMatch(/does not say whether it persists/);
  });

  it.skipIf(!hasRedisServer)(
    "warns once, at the first command, when the Redis at REDIS_URL has no append-only file",
    async () => {
      const warn = vi.fn();
      const state = redisSharedState(new RedisConnection({ url: redis.url, keyPrefix: prefix(), warn }));
      open.push(state);
      await state.idempotency.begin("persist-1", "h", T0);
      await vi.waitFor(() => expect(warn).toHaveBeenCalledWith("redis_not_persistent", expect.stringContaining("aof_enabled:0")));
      await state.idempotency.begin("persist-2", "h", T0);
      await state.idempotency.begin("persist-3", "h", T0);
      expect(warn.mock.calls.filter(([event]) => event === "redis_not_persistent")).toHaveLength(1);
    },
  );
});
