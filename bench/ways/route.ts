import { startService } from "../processes";
import { NEXT_BIN, nodeFlags, PROJECT_ROOT, servingEnv, type RunningWay, type WayContext } from "./way";

/** This project's route, `next start` of the production build, called over HTTP. */
export async function startRouteWay(context: WayContext): Promise<RunningWay> {
  const origin = `http://127.0.0.1:${context.port}`;
  const service = await startService({
    name: "next start (route)",
    command: process.execPath,
    args: [...nodeFlags(), NEXT_BIN, "start", "-p", String(context.port), "-H", "127.0.0.1"],
    cwd: PROJECT_ROOT,
    // The cap must outlast the rate-limited crowd, where creates queue for a minute or more.
    // Headroom over the default in-flight cap (1000): the crowd is exactly 1000 at once.
    env: servingEnv(context, { REPLICATE_TIMEOUT_SECONDS: String(context.capSeconds), REPLICATE_MAX_IN_FLIGHT: "2000" }),
    origin,
  });
  return {
    name: "route",
    pid: service.pid,
    call: (caller, prompt) => caller.post(`${origin}/api/ai/replicate`, { prompt }),
    stop: service.stop,
  };
}
