import { describe, expect, it } from "vitest";
import { DELETE, GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { parseGuardConfig } from "@/lib/server/config";
import { clientKey, forwardedAddress, MemoryRateLimitStore } from "@/lib/server/guard/rate-limit";
import { memorySharedState } from "@/lib/server/shared-state/shared-state";
import { setEngineOptions } from "@/tests/support/test-engine";
import { parseRateRule, type RateRule } from "@/lib/server/guard/rate-rule";
import { Problem } from "@/lib/server/problem";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { handleOf, jsonPost, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 10 });
useGuardEnv();
const APP = "http://app.test";

const post = (headers: Record<string, string> = {}) => POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "p" }, { headers }));
const rule = (text: string) => parseRateRule(text) as RateRule;
const anonymous = { identity: null };

describe("REPLICATE_RATE_LIMIT", () => {
  it.each([
    ["10/min", 10, 60_000],
    ["1/s", 1, 1000],
    ["100/h", 100, 3_600_000],
    ["30 / 5min", 30, 300_000],
    ["5/minutes", 5, 60_000],
    ["2/sec", 2, 1000],
    ["7/hours", 7, 3_600_000],
  ])("reads %s", (text, limit, windowMs) => {
    expect(parseRateRule(text)).toMatchObject({ limit, windowMs });
  });

  it.each(["10", "10/ms", "0/min", "ten/min", "10/fortnight", "10/0s", "-1/s", "10/m/s"])(
    "refuses %s, naming the variable",
    (text) => {
      expect(parseRateRule(text)).toBeNull();
      expect(() => parseGuardConfig({ REPLICATE_RATE_LIMIT: text })).toThrow(Problem);
      try {
        parseGuardConfig({ REPLICATE_RATE_LIMIT: text });
      } catch (error) {
        expect((error as Problem).detail).toContain("REPLICATE_RATE_LIMIT");
      }
    },
  );

  it("is off when unset, and the in-flight cap defaults to 1000 with no proxy trusted", () => {
    expect(parseGuardConfig({})).toMatchObject({ appOrigins: [], maxInFlight: 1000, trustProxyHops: 0 });
  });
});

describe("the in-memory store", () => {
  it("allows a burst of `limit`, then one each window/limit, telling when the next is allowed", () => {
    const store = new MemoryRateLimitStore();
    const perMinute = rule("3/min");
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i += 1) expect(store.take("a", perMinute, t0)).toEqual({ allowed: true });
    expect(store.take("a", perMinute, t0)).toEqual({ allowed: false, retryAfterMs: 20_000 });
    expect(store.take("a", perMinute, t0 + 19_999).allowed).toBe(false);
    expect(store.take("a", perMinute, t0 + 20_000).allowed).toBe(true);
    expect(store.take("a", perMinute, t0 + 20_000).allowed).toBe(false);
    expect(store.take("b", perMinute, t0).allowed).toBe(true);
  });

  it("does not count refused requests against the client", () => {
    const store = new MemoryRateLimitStore();
    const once = rule("1/s");
    store.take("a", once, 0);
    for (let i = 0; i < 100; i += 1) store.take("a", once, 500);
    expect(store.take("a", once, 1000).allowed).toBe(true);
  });

  it("forgets clients whose allowance is whole again, and never holds more than its maximum", () => {
    const store = new MemoryRateLimitStore(50);
    const perSecond = rule("5/s");
    for (let i = 0; i < 999; i += 1) store.take(`client-${i}`, perSecond, 0);
    expect(store.size).toBe(50);
    // The 1000th take sweeps: everyone seen at 0 is whole again at 2 s.
    store.take("late", perSecond, 2000);
    expect(store.size).toBe(1);
  });
});

describe("who the client is", () => {
  const headers = (xff?: string) => new Headers(xff === undefined ? {} : { "x-forwarded-for": xff });

  it("is the authenticated identity when there is one", () => {
    expect(clientKey(headers("1.2.3.4"), { identity: "user:42" }, { trustProxyHops: 1 })).toBe("id:user:42");
  });

  it("ignores x-forwarded-for unless TRUST_PROXY is set: anonymous callers then share one allowance", () => {
    expect(clientKey(headers("1.2.3.4"), anonymous, { trustProxyHops: 0 })).toBe("ip:unknown");
    expect(clientKey(headers(), anonymous, { trustProxyHops: 1 })).toBe("ip:unknown");
  });

  it("reads the entry the outermost trusted proxy wrote, not what the client wrote before it", () => {
    expect(clientKey(headers("6.6.6.6, 203.0.113.9"), anonymous, { trustProxyHops: 1 })).toBe("ip:203.0.113.9");
    expect(forwardedAddress("6.6.6.6, 203.0.113.9, 10.0.0.2", 2)).toBe("203.0.113.9");
    expect(forwardedAddress("203.0.113.9", 3)).toBe("203.0.113.9");
  });

  it("normalizes addresses and counts an IPv6 client per /64", () => {
    expect(forwardedAddress("203.0.113.9:5123", 1)).toBe("203.0.113.9");
    expect(forwardedAddress("::ffff:203.0.113.9", 1)).toBe("203.0.113.9");
    expect(forwardedAddress("2001:db8:0:1::17", 1)).toBe("2001:db8:0:1::/64");
    expect(forwardedAddress("[2001:0db8:0000:0001:ffff::1]:443", 1)).toBe("2001:db8:0:1::/64");
    expect(forwardedAddress("::1", 1)).toBe("0:0:0:0::/64");
    expect(forwardedAddress("not-an-address", 1)).toBeNull();
    expect(forwardedAddress("", 1)).toBeNull();
  });
});

describe("the route under a rate limit", () => {
  it("answers 429 with Retry-After and problem JSON past the limit, before Replicate is called", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "2/min" });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    const creates = sim.count("create");
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("30");
    const body = await refused.json();
    expect(body).toMatchObject({ title: "Too many requests", status: 429 });
    expect(body.detail).toContain("2/min");
    expect(sim.count("create")).toBe(creates);
  });

  it("counts each trusted client address apart, and a spoofed header does not buy a fresh allowance", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "1/min", TRUST_PROXY: "1" });
    expect((await post({ "x-forwarded-for": "198.51.100.1" })).status).toBe(200);
    expect((await post({ "x-forwarded-for": "198.51.100.2" })).status).toBe(200);
    expect((await post({ "x-forwarded-for": "1.1.1.1, 198.51.100.1" })).status).toBe(429);
  });

  it("without TRUST_PROXY, a client cannot escape its allowance by writing x-forwarded-for", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "1/min" });
    expect((await post({ "x-forwarded-for": "198.51.100.1" })).status).toBe(200);
    expect((await post({ "x-forwarded-for": "198.51.100.2" })).status).toBe(429);
  });

  it("counts key holders as one client, apart from anonymous ones", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "1/min", ROUTE_API_KEY: ROUTE_KEY });
    const keyed = { authorization: `Bearer ${ROUTE_KEY}` };
    expect((await post(keyed)).status).toBe(200);
    expect((await post(keyed)).status).toBe(429);
  });

  it("never limits following; a client at its limit of creates can still cancel, on an allowance of its own", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "1/min" });
    const id = handleOf((await (await post()).json()).id);
    expect((await post()).status).toBe(429);
    const params = { params: Promise.resolve({ id }) };
    for (let i = 0; i < 3; i += 1) {
      expect((await GET(new Request(`${APP}/api/ai/replicate/${id}`), params)).status).toBe(200);
    }
    expect((await DELETE(new Request(`${APP}/api/ai/replicate/${id}`, { method: "DELETE" }), params)).status).toBe(200);
    expect((await DELETE(new Request(`${APP}/api/ai/replicate/${id}`, { method: "DELETE" }), params)).status).toBe(429);
  });

  it("lets a pluggable store decide (here: one that refuses everything)", async () => {
    setGuardEnv({ REPLICATE_RATE_LIMIT: "100/s" });
    const refusing = { ...memorySharedState(), rateLimits: { take: async () => ({ allowed: false, retryAfterMs: 4200 }) } };
    setEngineOptions({ stores: refusing });
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(sim.requests).toHaveLength(0);
  });
});
