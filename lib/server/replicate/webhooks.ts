import "server-only";
import type { Config } from "../config";
import { Problem } from "../problem";
import { callReplicate } from "./transport";
import { redactToken } from "./replicate-errors";
import { isPrediction, isTerminal, type Prediction } from "../../shared/prediction";
import { readWebhookSecret } from "../../shared/replicate-objects";
import { readBodyText } from "../http/read-json-body";
import { checkWebhookHeaders, verifyWebhookSignature, type WebhookHeaders } from "./webhook-signature";

/** Events an async create asks for: enough to know it started and how it ended. */
export const WEBHOOK_EVENTS = ["start", "completed"] as const;
/** What a sync create asks for: its request waits for the end, which then arrives without a poll. */
export const SYNC_WEBHOOK_EVENTS = ["completed"] as const;
export const WEBHOOK_PATH = "/api/ai/replicate/webhook";

/** The create body's webhook fields, when the app has a public origin to be called back at. */
export function webhookFields(config: Config, events: readonly string[] = WEBHOOK_EVENTS): Record<string, unknown> {
  if (!config.webhookUrl) return {};
  return { webhook: `${config.webhookUrl}${WEBHOOK_PATH}`, webhook_events_filter: [...events] };
}

/** REPLICATE_WEBHOOK_SECRET, else Replicate's default secret, fetched once per account and cached. */
export function webhookSecret(config: Config): Promise<string> {
  if (config.webhookSecret) return Promise.resolve(config.webhookSecret);
  const secrets = config.engine.webhookSecrets;
  const key = `${config.baseUrl}\u0000${config.token}`;
  let secret = secrets.get(key);
  if (!secret) {
    secret = callReplicate<{ key: string }>(config, {
      method: "GET",
      path: "/webhooks/default/secret",
      idempotent: true,
      deadline: config.engine.clock.now() + 10_000,
      accept: (data) => readWebhookSecret(data) !== null,
    }).then((answer) => answer.data.key);
    // A failed fetch is not cached: the next delivery tries again.
    secret.catch(() => secrets.delete(key));
    secrets.set(key, secret);
  }
  return secret;
}

export type Delivery = { kind: "new" | "repeat"; prediction: Prediction };

/**
 * A webhook delivery: its signature headers checked before the body is read (present,
 * well-formed, timestamp within 5 minutes), the body read up to REPLICATE_WEBHOOK_MAX_BODY_BYTES,
 * the signature verified on the raw text before it is parsed. Invalid: a 401 problem, nothing
 * processed. A `webhook-id` already seen (Replicate retries the final webhook) is a repeat; a new
 * terminal prediction is shared with every instance before this returns (shareDelivery).
 */
export async function acceptDelivery(config: Config, request: Request): Promise<Delivery> {
  const headers: WebhookHeaders = {
    id: request.headers.get("webhook-id"),
    timestamp: request.headers.get("webhook-timestamp"),
    signature: request.headers.get("webhook-signature"),
    nowSeconds: Math.floor(config.engine.clock.now() / 1000),
  };
  const verdict = checkWebhookHeaders(headers);
  if (!verdict.ok) throw invalidSignature(verdict.reason);
  const rawBody = await readBodyText(request, config.webhookMaxBodyBytes, "REPLICATE_WEBHOOK_MAX_BODY_BYTES");
  const signed = verifyWebhookSignature({ ...headers, rawBody, secret: await webhookSecret(config) });
  if (!signed.ok) throw invalidSignature(signed.reason);
  const id = headers.id;
  // Parsing is iterative, but everything after (checks, redaction, storing) walks the value.
  if (nestedDeeperThan(rawBody, MAX_BODY_DEPTH)) {
    throw new Problem(400, "Invalid webhook body", `A signed webhook whose body is nested deeper than ${MAX_BODY_DEPTH} levels.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    parsed = undefined;
  }
  if (!isPrediction(parsed)) throw new Problem(400, "Invalid webhook body", "A signed webhook whose body is not a prediction.");
  // Kept and served to status requests: an upstream echo of the token must not go with it.
  const prediction = redactToken(parsed, config.token);
  // Shared by every instance: a retry landing on another instance is a repeat there too.
  if (!(await config.engine.shared().deliveryIds.firstTime(id!))) return { kind: "repeat", prediction };
  try {
    await shareDelivery(config, prediction);
  } catch (error) {
    // Not shared: let Replicate's retry of this delivery be processed.
    await forgetDelivery(config, request.headers);
    throw error;
  }
  return { kind: "new", prediction };
}

/**
 * What every instance learns from a delivery (acceptDelivery shares it): a terminal prediction is
 * kept where a status request on any instance finds it, and ends the waits for it on every
 * instance (the poller's), both at once.
 */
async function shareDelivery(config: Config, prediction: Prediction): Promise<void> {
  if (!isTerminal(prediction)) return;
  const state = config.engine.shared();
  await Promise.all([
    state.deliveredPredictions.put(prediction, config.engine.clock.now()),
    state.predictionEvents.publishEnded(prediction),
  ]);
}

/** A prediction is a few levels deep; a body nested deeper is not one. */
const MAX_BODY_DEPTH = 64;

/** True when the JSON text opens more than `max` arrays or objects inside each other. */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (char === 0x5d || char === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

function invalidSignature(reason: string): Problem {
  return new Problem(401, "Invalid webhook signature", reason);
}

/** A delivery whose processing failed is forgotten, so Replicate's retry is processed. */
export async function forgetDelivery(config: Config, headers: Headers): Promise<void> {
  const id = headers.get("webhook-id");
  // If even this fails (the shared state is down), the id stays seen: its retry is acknowledged
  // unprocessed, and the waits for it end by polling, as without webhooks.
  if (id) await Promise.resolve(config.engine.shared().deliveryIds.forget(id)).catch(() => undefined);
}
