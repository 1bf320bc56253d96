import "server-only";
// `Idempotency-Key` on POST /api/ai/replicate (IETF httpapi draft "The Idempotency-Key HTTP
// Header Field"): a double-clicked Run, a resubmitted form or a client's retry after a lost answer
// costs one prediction, not two. The key is scoped to the caller (its rate-limit client key), so
// one caller's key never names another caller's prediction. With the same key:
// - the same body within 24 h answers the prediction the first request created (sync: waits for
//   it; async: 202 with the same Location; event stream: follows it), never a second create;
// - another body answers 422; a first request still creating answers 409 with Retry-After.
// The records live in the shared state (Redis with REDIS_URL, else this process), so the rule
// holds across instances. When the store fails before the create, the answer is a 503 and nothing
// is created; when it fails after, the prediction is still answered (its record then stays
// "creating" for CREATING_TTL_MS: a retry with the key gets 409 until then, then creates anew).

import { keepAlive } from "@/lib/server/after-answer";
import { getGuardConfig } from "@/lib/server/config";
import { clientKey } from "@/lib/server/guard/rate-limit";
import { prefersAsync, wantsEventStream } from "@/lib/server/http/event-stream";
import { logWarning } from "@/lib/server/log";
import { Problem } from "@/lib/server/problem";
import { outcomeStatus, predictionResponse } from "@/lib/server/replicate/answer";
import { currentPrediction } from "@/lib/server/replicate/current-prediction";
import { predictionLocation } from "@/lib/server/replicate/prediction-handle";
import { followPrediction, type RunOptions } from "@/lib/server/replicate/run-prediction";
import { streamPrediction } from "@/lib/server/replicate/stream-prediction";
import type { RouteContext } from "@/lib/server/route-handler";
import { bodyHash, idempotencyKey, type IdempotencyStore } from "@/lib/server/shared-state/idempotency";
import { SharedStateUnavailable } from "@/lib/server/shared-state/redis-connection";
import { getSharedState } from "@/lib/server/shared-state/shared-state";
import { invalidFieldsProblem } from "@/lib/server/validation";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Longer than any UUID or ULID with a prefix; a key is an id, not a payload. */
export const MAX_KEY_LENGTH = 255;

// A structured-field String (printable ASCII, `\"` and `\\` escaped), or a bare token as many clients send.
const QUOTED = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~:/-]+$/;

/** The request's Idempotency-Key, unquoted; undefined without one; a 400 problem when it is junk. */
export function readIdempotencyKey(headers: Headers): string | undefined {
  const raw = headers.get(IDEMPOTENCY_HEADER);
  if (raw === null) return undefined;
  const text = raw.trim();
  const quoted = QUOTED.exec(text);
  const key = quoted ? quoted[1].replace(/\\(["\\])/g, "$1") : TOKEN.test(text) ? text : undefined;
  if (key === undefined || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    const detail = `${IDEMPOTENCY_HEADER} must be a quoted string (e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324") or a token of 1 to ${MAX_KEY_LENGTH} characters.`;
    throw invalidFieldsProblem("Invalid Idempotency-Key", detail, [{ field: IDEMPOTENCY_HEADER, description: "is not a quoted string or token of 1 to 255 characters" }]);
  }
  return key;
}

/**
 * What a POST does about its key: `create` (no key, or the first request with it: `track` the
 * work that creates, call `created` with the prediction's id as soon as it is known), or `replay`
 * the prediction an earlier request with the same key and body created.
 */
export type CreateClaim =
  | {
      kind: "create";
      created(predictionId: string): void;
      /** Passes `work` through; a failure before any prediction existed frees the key. */
      track<T>(work: Promise<T>): Promise<T>;
    }
  | { kind: "replay"; predictionId: string };

const UNCLAIMED: CreateClaim = { kind: "create", created: () => {}, track: (work) => work };

export async function claimCreate(
  request: Request,
  context: Pick<RouteContext, "caller">,
  body: unknown,
  store: IdempotencyStore = getSharedState().idempotency,
): Promise<CreateClaim> {
  const key = readIdempotencyKey(request.headers);
  if (key === undefined) return UNCLAIMED;
  const scope = clientKey(request.headers, context.caller ?? { identity: null }, getGuardConfig());
  const record = idempotencyKey(scope, key);
  const decision = await store.begin(record, bodyHash(JSON.stringify(body)));
  if (decision.kind === "created") return { kind: "replay", predictionId: decision.predictionId };
  if (decision.kind === "different-body") {
    throw new Problem(422, "Idempotency-Key reused", `This ${IDEMPOTENCY_HEADER} was used with another body; send a new key for a new prediction.`);
  }
  if (decision.kind === "in-progress") {
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new Problem(409, "Request in progress", `A request with this ${IDEMPOTENCY_HEADER} is still creating its prediction; try again in ${seconds} s.`, {
      headers: { "Retry-After": String(seconds) },
    });
  }
  let predictionId: string | undefined;
  return {
    kind: "create",
    created(id) {
      if (predictionId !== undefined) return;
      predictionId = id;
      // Never fails the answer: the prediction exists and is answered; the record then expires as "creating".
      // Kept alive past an answer sent at once (async mode) on hosts that freeze after answering.
      keepAlive("complete the Idempotency-Key record", store.complete(record, id).catch((error: unknown) => unrecorded(id, error)));
    },
    async track(work) {
      try {
        return await work;
      } catch (error) {
        if (predictionId === undefined && nothingCreated(error)) await store.abandon(record).catch(() => undefined);
        throw error;
      }
    },
  };
}

/**
 * A refusal (4xx: Replicate's or our pacing's) or a shared-state failure happened before any
 * create was accepted. A 5xx or a lost connection may hide a prediction created upstream: its
 * key stays "creating" rather than let a retry pay for a second one.
 */
function nothingCreated(error: unknown): boolean {
  if (error instanceof SharedStateUnavailable) return true;
  return error instanceof Problem && error.status < 500;
}

function unrecorded(predictionId: string, error: unknown): void {
  if (error instanceof SharedStateUnavailable) return; // the outage was logged once already
  logWarning("idempotency_unrecorded", `Prediction ${predictionId} was created but its Idempotency-Key record was not completed: ${String(error)}`);
}

/**
 * The answer to a repeat of a request that created `predictionId`, in the mode this request asks
 * for. It never cancels: the prediction is the first request's, which may still be waiting for it.
 */
export async function replayPrediction(request: Request, context: RouteContext, predictionId: string): Promise<Response> {
  const { config, receivedAt, stats } = context;
  context.predictionId = predictionId;
  const follow = async (signal: AbortSignal, options: Pick<RunOptions, "onUpdate" | "needsLogs"> = {}) =>
    followPrediction(config, await currentPrediction(config, predictionId, { stats }), {
      ...options,
      signal,
      deadline: receivedAt + config.timeoutSeconds * 1000,
      stats,
      cancelWhenStopped: false,
    });
  if (prefersAsync(request)) {
    const prediction = await currentPrediction(config, predictionId, { stats });
    const location = predictionLocation(config, predictionId, context.caller);
    return predictionResponse(prediction, 202, { Location: location, "Preference-Applied": "respond-async" });
  }
  if (wantsEventStream(request)) {
    return streamPrediction(config, ({ signal, onUpdate }) => follow(signal, { onUpdate, needsLogs: true }), request.signal, stats);
  }
  const outcome = await follow(request.signal);
  return predictionResponse(outcome.prediction, outcomeStatus(outcome));
}
