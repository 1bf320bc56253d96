import { directWay } from "./direct";
import { startFloorWay } from "./floor";
import { startOfficialWay, startSeedWay } from "./handler-ways";
import { startRouteBudgetWay, startRouteWay } from "./route";
import type { RunningWay, WayContext, WayName } from "./way";

export { WAY_LABELS, type RunningWay, type WayName } from "./way";

const STARTERS: Record<WayName, (context: WayContext) => Promise<RunningWay>> = {
  route: (context) => startRouteWay(context),
  "route-budget": startRouteBudgetWay,
  official: startOfficialWay,
  seed: startSeedWay,
  floor: startFloorWay,
  direct: async (context) => directWay(context),
};

export function startWay(name: WayName, context: WayContext): Promise<RunningWay> {
  return STARTERS[name](context);
}
