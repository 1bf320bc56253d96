import { startService } from "../processes";
import { NEXT_BIN, nodeFlags, PROJECT_ROOT, servingEnv, type RunningWay, type WayContext } from "./way";

/**
 * The route with the spend guard on (REPLICATE_BUDGET_PER_CALLER and REPLICATE_BUDGET_TOTAL, too
 * large to refuse anything): every prediction reserves, binds and settles in the in-process ledger,
 * and every answer carries the RateLimit headers. Set beside `route` to show what the guard adds.
 */
export function startRouteBudgetWay(context: WayContext): Promise<RunningWay> {
  return startRouteWay(context, "route-budget", {
    REPLICATE_BUDGET_PER_CALLER: "100000000s/day",
    REPLICATE_BUDGET_TOTAL: "100000000s/day",
  });
}

/** This project's route, `next start` of the production build, called over HTTP. */
export async function startRouteWay(
  context: WayContext,
  name: "route" | "route-budget" = "route",
  extra: Record<string, string> = {},
): Promise<RunningWay> {
  const origin = `http://127.0.0.1:${context.port}`;
  const service = await startService({
    name: "next start (route)",
    command: process.execPath,
    args: [...nodeFlags(), NEXT_BIN, "start", "-p", String(context.port), "-H", "127.0.0.1"],
    cwd: PROJECT_ROOT,
    // The cap must outlast the rate-limited crowd, where creates queue for a minute or more.
    // Headroom over the default in-flight cap (1000): the crowd is exactly 1000 at once.
    env: servingEnv(context, {
      REPLICATE_TIMEOUT_SECONDS: String(context.capSeconds),
      REPLICATE_MAX_IN_FLIGHT: "2000",
      ...extra,
    }),
    origin,
  });
  return {
    name,
    pid: service.pid,
    call: (caller, prompt) => caller.post(`${origin}/api/ai/replicate`, { prompt }),
    stop: service.stop,
  };
}
