import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { afterAnswer, keepAlive, settleAfterAnswer } from "@/lib/server/after-answer";
import { addSecrets, flushLog, logRequest, logWarning, setLogDestination } from "@/lib/server/log";
import { jsonPost, useSimulatedReplicate } from "@/tests/support/route-env";

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

useSimulatedReplicate();

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
    line(200, "c");
    line(503, "x");
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
    expect(read(stderr[0]).map((record) => [record.level, record.prediction_id])).toEqual([
      ["error", "b"],
      ["error", "x"],
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

  it("go out at once with a warning, those queued before it first (a warning may be the last word before a freeze)", () => {
    line(200, "f");
    line(502, "g");
    logWarning("after_answer_expired", "given up");
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0]).prediction_id).toBe("f");
    expect(stderr).toHaveLength(1);
    expect(
      stderr[0]
        .trimEnd()
        .split("\n")
        .map((json) => JSON.parse(json).level),
    ).toEqual(["error", "warn"]);
  });

  it("of work handed to the host after the answer are written by the time that work ends", async () => {
    afterAnswer("log-writes", async () => line(200, "h"), { timeoutMs: 1000 });
    keepAlive(
      "log-writes",
      Promise.resolve().then(() => line(200, "i")),
    );
    await settleAfterAnswer();
    expect(stdout.join("")).toContain('"prediction_id":"h"');
    expect(stdout.join("")).toContain('"prediction_id":"i"');
  });

  it("of a streamed answer are written as its body ends", async () => {
    const answer = await POST(
      jsonPost("http://localhost/api/ai/replicate", { prompt: "streamed [run:0]" }, { headers: { accept: "text/event-stream" } }),
    );
    expect(answer.headers.get("content-type")).toContain("text/event-stream");
    await answer.text();
    await new Promise((resolve) => process.nextTick(resolve));
    expect(stdout.join("")).toContain('"stream":true');
  });

  it("never take the server down when the log pipe breaks (EPIPE), as console does", async () => {
    vi.mocked(process.stdout.write).mockImplementation(((_text: string, done?: (error?: Error | null) => void) => {
      const error = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      // As a Writable fails: the callback, then the stream's error event.
      process.nextTick(() => {
        done?.(error);
        process.nextTick(() => process.stdout.emit("error", error));
      });
      return false;
    }) as typeof process.stdout.write);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener("uncaughtException", onUncaught);
    try {
      line(200, "j");
      flushLog();
      await turn();
      await turn();
    } finally {
      process.removeListener("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it("of the last turn are written when the process exits in it (a crash's own line too)", () => {
    // A process of its own: this one's exit is the test runner's.
    const child = spawnSync(
      path.join("node_modules", ".bin", "tsx"),
      [
        "--conditions=react-server",
        "-e",
        `import { logRequest } from "./lib/server/log.ts";
         logRequest({ route: "create", method: "POST", status: 200, duration_ms: 1, prediction_id: "k", polls: 0, retries: 0, upstream_requests: 1 });
         process.exit(3);`,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(child.status).toBe(3);
    expect(JSON.parse(child.stdout).prediction_id).toBe("k");
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
