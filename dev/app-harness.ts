/**
 * Runs the real app for the browser test and the demo: a production build, `next start` in its own
 * process group (so stopping it stops its workers too), pointed at the simulated Replicate.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawnGroup, waitUntilAnswering } from "./process-group";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NEXT_BIN = path.join(PROJECT_ROOT, "node_modules/.bin/next");
const NEXT_SCRIPT = path.join(PROJECT_ROOT, "node_modules/next/dist/bin/next");
const BUILD_ID = path.join(PROJECT_ROOT, ".next/BUILD_ID");

export const SIMULATED_TOKEN = "r8_simulated_token";
export const SIMULATED_MODEL = "simulated/image-model";

/** The route's environment against the simulator: only the base URL and the token differ from production. */
export function simulatedReplicateEnv(baseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // The route wants exactly one model setting, and a developer's shell may hold another.
  const { REPLICATE_MODEL_VERSION, REPLICATE_DEPLOYMENT, ...inherited } = process.env;
  return {
    ...inherited,
    NODE_ENV: "production", // vitest sets "test", which `next start` must not inherit
    REPLICATE_API_BASE_URL: baseUrl,
    REPLICATE_API_TOKEN: SIMULATED_TOKEN,
    REPLICATE_MODEL: SIMULATED_MODEL,
    NEXT_TELEMETRY_DISABLED: "1",
    ...extra,
  };
}

/**
 * Builds when there is no build, when E2E_BUILD=1, or when a source file is newer than the build
 * (a stale build would test yesterday's page). E2E_BUILD=0 never builds.
 */
export function ensureProductionBuild(log: (line: string) => void = () => {}): void {
  const wanted = process.env.E2E_BUILD;
  if (wanted === "0" && existsSync(BUILD_ID)) return;
  const reason =
    wanted === "1" ? "E2E_BUILD=1" : !existsSync(BUILD_ID) ? "no build yet" : newerSource(statSync(BUILD_ID).mtimeMs);
  if (!reason) return;
  log(`next build (${reason})…`);
  runNextBuild();
}

/** `next build` of the project, or of `dir` (a copy of its sources, see tests/e2e/any-model-app.ts). */
export function runNextBuild(options: { inheritOutput?: boolean; dir?: string } = {}): void {
  const result = spawnSync(NEXT_BIN, ["build", ...(options.dir ? [options.dir] : [])], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
    encoding: "utf8",
    stdio: options.inheritOutput ? "inherit" : ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) {
    const output = options.inheritOutput ? "" : `:\n${tail(`${result.stdout}\n${result.stderr}`, 60)}`;
    throw new Error(`next build failed (exit ${result.status})${output}`);
  }
}

export function hasProductionBuild(): boolean {
  return existsSync(BUILD_ID);
}

const SOURCE_DIRS = ["app", "lib", "public"];
const SOURCE_FILES = ["next.config.ts", "package.json"];

function newerSource(buildTime: number): string | null {
  for (const file of SOURCE_FILES) {
    const full = path.join(PROJECT_ROOT, file);
    if (existsSync(full) && statSync(full).mtimeMs > buildTime) return `${file} changed`;
  }
  for (const dir of SOURCE_DIRS) {
    const changed = findNewer(path.join(PROJECT_ROOT, dir), buildTime);
    if (changed) return `${path.relative(PROJECT_ROOT, changed)} changed`;
  }
  return null;
}

function findNewer(dir: string, since: number): string | null {
  if (!existsSync(dir)) return null;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findNewer(full, since);
      if (found) return found;
    } else if (statSync(full).mtimeMs > since) {
      return full;
    }
  }
  return null;
}

export type NextServer = { origin: string; port: number; process: ChildProcess; output: () => string; stop: () => Promise<void> };

/** `next start` on `port`, resolved once it answers HTTP; rejects with its output if it exits or hangs. */
export async function startNextServer(options: {
  port: number;
  env: NodeJS.ProcessEnv;
  /** Loopback only by default; the demo listens everywhere so `localhost` works over IPv4 and IPv6. */
  hostname?: string | null;
  timeoutMs?: number;
  inheritOutput?: boolean;
  /** The built project to start (default: this one). */
  dir?: string;
  /** Flags for node itself (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}): Promise<NextServer> {
  const hostname = options.hostname === undefined ? "127.0.0.1" : options.hostname;
  const args = [
    "start",
    ...(options.dir ? [options.dir] : []),
    "-p",
    String(options.port),
    ...(hostname ? ["-H", hostname] : []),
  ];
  const spawnOptions = { cwd: PROJECT_ROOT, env: options.env, inheritOutput: options.inheritOutput };
  const child = options.nodeArgs?.length
    ? spawnGroup(process.execPath, [...options.nodeArgs, NEXT_SCRIPT, ...args], spawnOptions)
    : spawnGroup(NEXT_BIN, args, spawnOptions);
  const server: NextServer = {
    origin: `http://${hostname ?? "localhost"}:${options.port}`,
    port: options.port,
    process: child.child,
    output: child.output,
    stop: () => child.stop(5_000),
  };
  try {
    await waitUntilAnswering(server.origin, child, options.timeoutMs ?? 30_000);
  } catch (error) {
    await server.stop();
    throw new Error(`next start ${(error as Error).message}\n--- next start output ---\n${tail(child.output(), 40)}`);
  }
  return server;
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
