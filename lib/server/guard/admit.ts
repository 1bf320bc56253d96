import "server-only";
// The guards, in order, for a route that reaches Replicate: who is calling (403/401), how often
// (429), how many at once (503). All of them answer before the body is read.
//
// A POST (it can start a prediction) and a DELETE (it calls Replicate) count against the rate
// limit, each kind on its own allowance: a client at its limit of creates can still cancel what it
// started, and a flood of DELETEs spends only its own. Following (GET) is free: its reads are
// shared per interval. A DELETE saves credit and is quick: it takes no in-flight slot.

import type { GuardConfig } from "../config";
import { identifyCaller, warnOpenRoute, type Caller } from "./access";
import type { Engine } from "../engine";
import type { Release, SlowBody } from "./in-flight";
import { clientKey, enforceRateLimit } from "./rate-limit";

export interface Admission {
  caller: Caller;
  /** Frees the in-flight slot; call when the answer has ended. */
  release: Release;
}

export async function admitRequest(request: Request, config: GuardConfig, engine: Engine): Promise<Admission> {
  const caller = await identifyCaller(request, config, () => {
    if (engine.warnedOpenRoute) return;
    engine.warnedOpenRoute = true;
    warnOpenRoute();
  });
  if (config.rateLimit && (request.method === "POST" || request.method === "DELETE")) {
    const client = clientKey(request.headers, caller, config);
    await enforceRateLimit(
      request.method === "POST" ? client : `cancel:${client}`,
      config.rateLimit,
      engine.shared().rateLimits,
      engine.clock.now(),
    );
  }
  const release = request.method === "DELETE" ? () => {} : engine.inFlight.acquire(config.maxInFlight);
  return { caller, release };
}

/**
 * The webhook: no caller to identify, its handler checks the signature's headers before it reads
 * the body. Only the caps run here: the process's in-flight cap, then the webhooks' own (whose
 * slots a slow body gives up to a delivery that needs one, see `WebhookSlots`).
 */
export function admitSigned(config: GuardConfig, engine: Engine, body: SlowBody): Release {
  const releaseSlot = engine.inFlight.acquire(config.maxInFlight);
  try {
    const releaseWebhook = engine.webhooksInFlight.acquire(config.webhookMaxInFlight, body);
    return () => {
      releaseWebhook();
      releaseSlot();
    };
  } catch (error) {
    releaseSlot();
    throw error;
  }
}

/** A route whose URL is its own key (kept output files): only the process's in-flight cap runs. */
export function admitCapability(config: GuardConfig, engine: Engine): Release {
  return engine.inFlight.acquire(config.maxInFlight);
}
