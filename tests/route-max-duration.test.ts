/**
 * `maxDuration` is derived from the cap: every route that waits on a prediction exports the
 * literal lib/server/route-duration.ts owns, and a cap that does not fit it is warned about at the
 * first request, naming what to change.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CANCEL_BUDGET_MS } from "@/lib/server/replicate/create-policy";
import {
  capMisfit,
  PAST_CAP_SECONDS,
  requiredMaxDuration,
  ROUTE_MAX_DURATION_SECONDS,
  WAITING_ROUTE_FILES,
} from "@/lib/server/route-duration";
import { useGuardEnv } from "@/tests/support/guard-env";
import { setEnv } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

const logs = useGuardEnv();

describe("maxDuration is derived from the cap", () => {
  it.each(WAITING_ROUTE_FILES)(
    "%s exports the literal the rule owns, which holds the default cap, its cancel and the answer",
    (file) => {
      const literal = /export const maxDuration = (\d+);/.exec(readFileSync(file, "utf8"));
      expect(Number(literal?.[1])).toBe(ROUTE_MAX_DURATION_SECONDS);
      expect(requiredMaxDuration(60)).toBe(ROUTE_MAX_DURATION_SECONDS);
      expect(PAST_CAP_SECONDS).toBeGreaterThan(CANCEL_BUDGET_MS / 1000);
    },
  );

  it("a cap that fits says nothing; one that does not names the variable, the files and the numbers", () => {
    expect(capMisfit(60)).toBeNull();
    const misfit = capMisfit(300)!;
    expect(misfit).toContain("REPLICATE_TIMEOUT_SECONDS=300 needs maxDuration >= 305 s");
    expect(misfit).toContain("export const maxDuration = 305;");
    for (const file of WAITING_ROUTE_FILES) expect(misfit).toContain(file);
    expect(misfit).toContain("REPLICATE_TIMEOUT_SECONDS to 60 or less");
  });

  it("is warned about once, when the configuration is first read", () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "299" });
    testConfig();
    testConfig();
    const warnings = logs.records().filter((record) => record.event === "cap_exceeds_max_duration");
    expect(warnings).toHaveLength(1);
    expect(warnings[0].level).toBe("warn");
  });
});
