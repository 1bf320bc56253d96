import { describe, expect, it } from "vitest";
import { backoffMs, BACKOFF_MAX_MS, planRetry, throttleHintMs } from "@/lib/server/replicate/retry-policy";
import { retryAfterMs } from "@/lib/shared/retry-after";

const now = 1_700_000_000_000;
const context = (attempt = 1, deadline = now + 120_000) => ({ attempt, now, deadline, random: () => 0.5 });

describe("which GETs and cancels are retried", () => {
  it("retries GET and cancel after network errors, 429, 5xx and garbled 2xx answers, not 4xx", () => {
    for (const failure of [{ status: 429 }, { status: 500 }, { status: 503 }, {}, { malformed: true }]) {
      expect(planRetry(failure, context())).not.toBeNull();
    }
    for (const status of [400, 401, 404, 422]) expect(planRetry({ status }, context())).toBeNull();
  });
});

describe("how long a retry waits", () => {
  it("honours Retry-After in seconds or as an HTTP date", () => {
    expect(planRetry({ status: 429, retryAfterHeader: "7", detail: "resets in ~30s" }, context())).toBe(7000);
    expect(retryAfterMs(new Date(now + 3000).toUTCString(), now)).toBe(3000);
    expect(retryAfterMs("0.05", now)).toBe(50);
    expect(retryAfterMs("soon", now)).toBeNull();
  });

  it("reads the page's Retry-After the same way: seconds or an HTTP date, and null for anything else", () => {
    const at = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "Retry-After": "1" }).get("retry-after"), at)).toBe(1000);
    expect(retryAfterMs(new Headers({ "Retry-After": "0.5" }).get("retry-after"), at)).toBe(500);
    expect(retryAfterMs(new Headers({ "Retry-After": "Wed, 01 Jan 2025 00:00:03 GMT" }).get("retry-after"), at)).toBe(3000);
    expect(retryAfterMs(new Headers({ "Retry-After": "soon" }).get("retry-after"), at)).toBeNull();
    expect(retryAfterMs(new Headers().get("retry-after"), at)).toBeNull();
    expect(retryAfterMs(undefined, at)).toBeNull();
  });

  it("falls back to the ~Ns hint in Replicate's 429 detail", () => {
    expect(throttleHintMs("Request was throttled. Your rate limit resets in ~30s.")).toBe(30_000);
    expect(planRetry({ status: 429, detail: "Your rate limit resets in ~4s." }, context())).toBe(4000);
    expect(throttleHintMs("Request was throttled. Expected available in 1 second.")).toBe(1000);
    expect(throttleHintMs("Request was throttled. Expected available in 12 seconds.")).toBe(12_000);
    expect(throttleHintMs(undefined)).toBeNull();
  });

  it("else backs off exponentially with jitter, capped", () => {
    const low = () => 0;
    const high = () => 0.999;
    expect(backoffMs(1, low)).toBe(125);
    expect(backoffMs(2, low)).toBe(250);
    expect(backoffMs(3, high)).toBeGreaterThan(backoffMs(3, low));
    expect(backoffMs(3, high)).toBeLessThanOrEqual(1000);
    expect(backoffMs(20, high)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
  });

  it("never waits past the deadline", () => {
    expect(planRetry({ status: 429, retryAfterHeader: "30" }, context(1, now + 29_000))).toBeNull();
    expect(planRetry({ status: 503 }, context(1, now + 10))).toBeNull();
    expect(planRetry({ status: 429, retryAfterHeader: "30" }, context(1, now + 31_000))).toBe(30_000);
  });
});
