import path from "node:path";
import { startService } from "../processes";
import { nodeFlags, PROJECT_ROOT, servingEnv, type RunningWay, type WayContext } from "./way";

// Any 64-hex id: the simulator accepts it as a version (the seed creates by version).
const SEED_VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";

/** The official client behind a minimal node:http handler, in its own process. */
export function startOfficialWay(context: WayContext): Promise<RunningWay> {
  return startHandlerWay("official", "official-client-server.ts", context);
}

/** The seed's algorithm (the baseline) behind the same kind of handler, in its own process. */
export function startSeedWay(context: WayContext): Promise<RunningWay> {
  return startHandlerWay("seed", "seed-server.ts", context, { BENCH_SEED_VERSION: SEED_VERSION });
}

async function startHandlerWay(
  name: "official" | "seed",
  entry: string,
  context: WayContext,
  extra: Record<string, string> = {},
): Promise<RunningWay> {
  const origin = `http://127.0.0.1:${context.port}`;
  const service = await startService({
    name: `${name} handler`,
    command: process.execPath,
    args: [...nodeFlags(), "--import", "tsx", path.join(PROJECT_ROOT, "bench/ways", entry)],
    cwd: PROJECT_ROOT,
    env: servingEnv(context, extra),
    origin,
  });
  return {
    name,
    pid: service.pid,
    call: (caller, prompt) => caller.post(`${origin}/`, { prompt }),
    stop: service.stop,
  };
}
