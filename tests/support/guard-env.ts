/**
 * The guards' variables, reset before each test (route-env's `setEnv` does not know them), a fresh
 * engine (and so fresh in-flight counts and body budget) per test, and the log lines the routes
 * write, captured instead of printed.
 */
import { afterEach, beforeEach, vi } from "vitest";
import { resetEngine, setVariables } from "@/tests/support/test-engine";

export const ROUTE_KEY = "rk_test_9f2c4e1a7b3d5f60";

const GUARD_DEFAULTS = {
  ROUTE_API_KEY: "",
  APP_ORIGIN: "",
  REPLICATE_RATE_LIMIT: "",
  REPLICATE_MAX_IN_FLIGHT: "",
  TRUST_PROXY: "",
  REPLICATE_BODY_TIMEOUT_SECONDS: "",
  REPLICATE_BODY_BUDGET_BYTES: "",
  REPLICATE_WEBHOOK_MAX_IN_FLIGHT: "",
};

export function setGuardEnv(overrides: Partial<Record<keyof typeof GUARD_DEFAULTS, string>> = {}) {
  setVariables({ ...GUARD_DEFAULTS, ...overrides });
}

export interface CapturedLogs {
  /** Every line written to console.log / info / warn / error, in order. */
  lines: string[];
  /** The lines that are JSON objects, parsed. */
  records(): Record<string, any>[];
  requests(): Record<string, any>[];
}

export function useGuardEnv(): CapturedLogs {
  const lines: string[] = [];
  beforeEach(() => {
    setGuardEnv();
    resetEngine();
    lines.length = 0;
    for (const method of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const records = () => lines.flatMap((line) => (line.startsWith("{") ? [JSON.parse(line)] : []));
  return { lines, records, requests: () => records().filter((record) => record.event === "request") };
}
