import { describe, expect, it } from "vitest";
import { latestBudget, noteBudget, parseBudget, windowWords } from "@/lib/browser/budget";

describe("the budget line's reading of the RateLimit header fields", () => {
  const headers = (policy: string, state: string) => new Headers({ "RateLimit-Policy": policy, RateLimit: state });

  it("reads the caller's budget, when it renews and the window's words", () => {
    const budget = parseBudget(
      headers(
        '"caller";q=300;qu="model-seconds";w=86400, "app";q=3600;qu="model-seconds";w=86400',
        '"caller";r=212;t=5400, "app";r=3000;t=5400',
      ),
      1_000,
    );
    expect(budget).toEqual({ limitSeconds: 300, remainingSeconds: 212, windowSeconds: 86_400, renewsAt: 1_000 + 5_400_000 });
    expect(windowWords(86_400)).toBe("today");
    expect(windowWords(3600)).toBe("this hour");
  });

  it("falls back to the app's budget when there is no caller's, and ignores request-counting policies", () => {
    expect(parseBudget(headers('"app";q=60;qu="model-seconds";w=3600', '"app";r=0;t=10'), 0)).toMatchObject({
      limitSeconds: 60,
      remainingSeconds: 0,
    });
    expect(parseBudget(headers('"default";q=100;w=60', '"default";r=50;t=30'))).toBeNull();
    expect(parseBudget(new Headers())).toBeNull();
  });

  it("keeps the latest budget an answer reported; an answer without one leaves it", () => {
    noteBudget(headers('"caller";q=10;qu="model-seconds";w=60', '"caller";r=4;t=30'));
    noteBudget(new Headers());
    expect(latestBudget()).toMatchObject({ limitSeconds: 10, remainingSeconds: 4 });
  });
});
