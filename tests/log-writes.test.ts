import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { addSecrets, flushLog, logRequest, logWarning, setLogDestination } from "@/lib/server/log";

/**
 * The app's log destination (the unit suite's other tests read lines through `console`,
 * tests/support/log-to-console.ts): lines go straight to stdout (info) and stderr (warn, error),
 * those of one turn of the event loop in one write per stream, in the order they were logged.
 */
const line = (status: number, prediction_id: string) =>
  logRequest({
    route: "create",
    method: "POST",
    status,
    duration_ms: 4,
    prediction_id,
    polls: 0,
    retries: 0,
    upstream_requests: 1,
  });
const turn = () => new Promise((resolve) => setImmediate(resolve));

let stdout: string[];
let stderr: string[];

beforeEach(() => {
  stdout = [];
  stderr = [];
  const into = (texts: string[]) => (text: string | Uint8Array) => texts.push(String(text)) > 0;
  vi.spyOn(process.stdout, "write").mockImplementation(into(stdout));
  vi.spyOn(process.stderr, "write").mockImplementation(into(stderr));
  setLogDestination();
});

afterEach(() => {
  setLogDestination((level, text) => console[level === "info" ? "log" : level](text));
  vi.restoreAllMocks();
});

describe("log lines", () => {
  it("of one turn go out in one write per stream, in order, at the end of the turn", async () => {
    line(200, "a");
    line(502, "b");
    logWarning("redis_not_persistent", "warned");
    line(200, "c");
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([]);
    await turn();
    expect(stdout).toHaveLength(1);
    expect(stderr).toHaveLength(1);
    const read = (text: string) =>
      text
        .trimEnd()
        .split("\n")
        .map((json) => JSON.parse(json));
    expect(read(stdout[0]).map((record) => [record.level, record.prediction_id])).toEqual([
      ["info", "a"],
      ["info", "c"],
    ]);
    expect(read(stderr[0]).map((record) => [record.level, record.prediction_id ?? record.event])).toEqual([
      ["error", "b"],
      ["warn", "redis_not_persistent"],
    ]);
    expect(stdout[0].endsWith("}\n")).toBe(true);

    line(200, "d");
    await turn();
    expect(stdout).toHaveLength(2);
    expect(JSON.parse(stdout[1]).prediction_id).toBe("d");
  });

  it("are written at once by flushLog (what the process runs when it exits), and never twice", async () => {
    line(200, "e");
    flushLog();
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0]).prediction_id).toBe("e");
    await turn();
    expect(stdout).toHaveLength(1);
  });

  it("carry no secret, batched or not", async () => {
    const secret = "r8_log_writes_secret_value";
    addSecrets([secret]);
    logWarning("echo", `the upstream said ${secret}`);
    await turn();
    expect(stderr.join("")).toContain("[redacted]");
    expect(stderr.join("")).not.toContain(secret);
  });
});
