import "server-only";
// A prediction's state for a status answer: what a webhook delivered (on any instance, when the
// shared state is Redis), when fresh and terminal; else Replicate's answer, shared by concurrent
// reads (the poller's `current`). The delivered copy is a cache: when the shared state cannot
// answer, Replicate still does.

import type { Config } from "@/lib/server/config";
import { pollerFor } from "@/lib/server/replicate/poller";
import type { CallStats } from "@/lib/server/replicate/transport";
import { SharedStateUnavailable } from "@/lib/server/shared-state/redis-connection";
import { getSharedState } from "@/lib/server/shared-state/shared-state";
import { settleSpend } from "@/lib/server/spend-guard/spend-guard";
import type { Prediction } from "@/lib/shared/prediction";

export async function currentPrediction(config: Config, id: string, options: { stats?: CallStats } = {}): Promise<Prediction> {
  const prediction = (await deliveredCopy(id)) ?? (await pollerFor(config).current(id, options));
  // An end nobody had seen yet settles its spend reservation (lib/server/spend-guard).
  await settleSpend(prediction, config);
  return prediction;
}

async function deliveredCopy(id: string): Promise<Prediction | undefined> {
  try {
    return await getSharedState().deliveredPredictions.freshTerminal(id);
  } catch (error) {
    if (error instanceof SharedStateUnavailable) return undefined;
    throw error;
  }
}
