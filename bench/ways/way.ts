/** A way of running a prediction, as the benchmark drives it: one call per prediction. */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Answer, JsonCaller } from "../http-client";

export type WayName = "route" | "route-budget" | "official" | "seed" | "floor" | "direct";

export const WAY_LABELS: Record<WayName, string> = {
  route: "this project's route",
  "route-budget": "this project's route, spend guard on",
  official: "official replicate client",
  seed: "seed's loop (baseline)",
  floor: "floor (bare Next.js fetch)",
  direct: "direct to simulator",
};

export interface RunningWay {
  name: WayName;
  /** Sends one prediction request with this prompt and waits for the whole answer. */
  call(caller: JsonCaller, prompt: string): Promise<Answer>;
  /** The serving process (null when nothing sits between the caller and the simulator). */
  pid: number | null;
  stop(): Promise<void>;
}

export interface WayContext {
  /** The simulator this way talks to, e.g. http://127.0.0.1:4010/v1 */
  simBaseUrl: string;
  port: number;
  eventLoopDir: string;
  /** The route's cap (REPLICATE_TIMEOUT_SECONDS): long enough for the rate-limited crowd. */
  capSeconds: number;
}

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const NEXT_BIN = path.join(PROJECT_ROOT, "node_modules/next/dist/bin/next");
export const BENCH_MODEL = "bench/model";
export const BENCH_TOKEN = "r8_simulated_token";
const EVENT_LOOP_MONITOR = pathToFileURL(path.join(PROJECT_ROOT, "bench/event-loop-monitor.mjs")).href;
// BENCH_CPU_PROFILE=1: every serving process writes a V8 CPU profile here when it stops (open it in
// Chrome DevTools or speedscope) to see where a way spends its time.
const CPU_PROFILE_DIR = path.join(PROJECT_ROOT, "bench/.work/cpu-profiles");

/**
 * The environment of a serving process: production mode, the simulator as Replicate, and the
 * event-loop monitor preloaded. A developer's own REPLICATE_* settings are left out.
 */
export function servingEnv(context: WayContext, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("REPLICATE_") && name !== "NODE_OPTIONS"),
  );
  return {
    ...inherited,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    NODE_OPTIONS: `--import=${EVENT_LOOP_MONITOR}`,
    BENCH_EVENT_LOOP_DIR: context.eventLoopDir,
    PORT: String(context.port),
    REPLICATE_API_BASE_URL: context.simBaseUrl,
    REPLICATE_API_TOKEN: BENCH_TOKEN,
    REPLICATE_MODEL: BENCH_MODEL,
    ...extra,
  };
}

/** Node flags for a serving process (NODE_OPTIONS does not allow --cpu-prof, so they go on the command line). */
export function nodeFlags(): string[] {
  return process.env.BENCH_CPU_PROFILE === "1" ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROFILE_DIR}`] : [];
}
