import path from "node:path";
import { startService } from "../processes";
import { NEXT_BIN, nodeFlags, PROJECT_ROOT, servingEnv, type RunningWay, type WayContext } from "./way";

export const FLOOR_APP_DIR = path.join(PROJECT_ROOT, "bench/floor-app");

/**
 * The floor: a tiny Next.js app whose one route forwards the body to the simulator's create with
 * `fetch`. What the framework costs with no code of ours; it is sent the create body itself.
 */
export async function startFloorWay(context: WayContext): Promise<RunningWay> {
  const origin = `http://127.0.0.1:${context.port}`;
  const service = await startService({
    name: "next start (floor)",
    command: process.execPath,
    args: [...nodeFlags(), NEXT_BIN, "start", FLOOR_APP_DIR, "-p", String(context.port), "-H", "127.0.0.1"],
    cwd: PROJECT_ROOT,
    env: servingEnv(context),
    origin,
  });
  return {
    name: "floor",
    pid: service.pid,
    call: (caller, prompt) => caller.post(`${origin}/api/forward`, { input: { prompt } }),
    stop: service.stop,
  };
}
