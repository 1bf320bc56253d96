import "server-only";
// A prediction's state for a status answer: what a webhook delivered (on any instance, when the
// shared state is Redis), when fresh and terminal; else Replicate's answer, shared by concurrent
// reads (the poller's `current`). The delivered copy is a cache: when the shared state cannot
// answer, Replicate still does.

import type { Config } from "../config";
import { pollerFor } from "./poller";
import type { CallStats } from "./transport";
import { SharedStateUnavailable } from "../shared-state/redis-connection";
import { settleSpend } from "../spend-guard/spend-guard";
import type { Prediction } from "../../shared/prediction";

export async function currentPrediction(config: Config, id: string, options: { stats?: CallStats } = {}): Promise<Prediction> {
  const prediction = (await deliveredCopy(config, id)) ?? (await pollerFor(config).current(id, options));
  // An end nobody had seen yet settles its spend reservation (lib/server/spend-guard).
  await settleSpend(prediction, config);
  return prediction;
}

async function deliveredCopy(config: Config, id: string): Promise<Prediction | undefined> {
  try {
    return await config.engine.shared().deliveredPredictions.freshTerminal(id, config.engine.clock.now());
  } catch (error) {
    if (error instanceof SharedStateUnavailable) return undefined;
    throw error;
  }
}
