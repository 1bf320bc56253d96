// Every curl example of the README and the guides, run as a reader would paste it into a shell:
// against the app's route handlers served over loopback HTTP (tests/support/route-server.ts) and
// the simulated Replicate on loopback. Each must succeed, get only 2xx answers from the app, and
// print a short answer (no hundreds of KB of base64 in the terminal).

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SIMULATED_MODEL } from "@/dev/app-harness";
import { startSimulatorServer, type SimulatorServer } from "@/dev/simulator/server";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { codeBlocks, documentation } from "@/tests/support/markdown";
import { startRouteServer, type RouteServer } from "@/tests/support/route-server";
import { setEnv, TOKEN } from "@/tests/support/route-env";

/** The origin the examples name; each is run against the test's own. */
const DOCUMENTED_ORIGIN = "http://localhost:3000";
/** More than a short view of a prediction, far less than one data URL of an image. */
const SHORT_OUTPUT_BYTES = 4096;

const examples = documentation().flatMap((file) =>
  codeBlocks(file.text)
    .filter((block) => block.language === "sh" && block.code.includes("curl ") && block.code.includes(DOCUMENTED_ORIGIN))
    .map((block) => ({ name: `${file.path}:${block.line}`, code: block.code })),
);

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const missing = ["bash", "curl", "jq"].filter((name) => !hasCommand(name));
if (missing.length > 0)
  console.log(
    `Skipping the documentation's curl examples: install ${missing.join(" and ")} (sudo apt-get install -y ${missing.join(" ")}).`,
  );

function run(
  code: string,
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // stdin not a socket: Debian's bash would read bashrc for a "remote shell".
    const child = spawn("bash", ["--norc", "--noprofile", "-euo", "pipefail", "-c", code], {
      cwd,
      env: env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (exitCode) => resolve({ code: exitCode, stdout, stderr }));
  });
}

describe.skipIf(missing.length > 0)("the documentation's curl examples", () => {
  useGuardEnv();
  let simulator: SimulatorServer;
  let app: RouteServer;
  let cwd: string;

  beforeAll(async () => {
    simulator = await startSimulatorServer({ token: TOKEN, bootMs: 50, runMs: 400 });
    app = await startRouteServer();
    cwd = mkdtempSync(join(tmpdir(), "docs-curl-"));
    // The multipart example uploads ./cat.png.
    writeFileSync(
      join(cwd, "cat.png"),
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]),
    );
  });

  beforeEach(() => {
    setEnv({
      REPLICATE_API_BASE_URL: simulator.baseUrl,
      REPLICATE_MODEL: SIMULATED_MODEL,
      REPLICATE_POLL_INTERVAL_MS: "50",
      REPLICATE_TIMEOUT_SECONDS: "20",
      REPLICATE_SYNC_WAIT_SECONDS: "5",
    });
  });

  afterAll(async () => {
    await app?.close();
    await simulator?.close();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it("finds the examples: the JSON, async, event-stream, multipart and keyed ones", () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  it.each(examples)("$name runs as written", { timeout: 60_000 }, async ({ code }) => {
    const keyed = code.includes("$ROUTE_API_KEY");
    setGuardEnv(keyed ? { ROUTE_API_KEY: ROUTE_KEY } : {});
    const firstAnswer = app.answered.length;
    const result = await run(code.replaceAll(DOCUMENTED_ORIGIN, app.origin), cwd, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(keyed ? { ROUTE_API_KEY: ROUTE_KEY } : {}),
    });
    const answered = app.answered.slice(firstAnswer);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.filter((answer) => answer.status < 200 || answer.status > 299)).toEqual([]);
    expect(result.stdout.trim().length).toBeGreaterThan(0);
    expect(Buffer.byteLength(result.stdout)).toBeLessThan(SHORT_OUTPUT_BYTES);
  });
});
