import "server-only";
// `Idempotency-Key` on POST /api/ai/replicate (IETF httpapi draft "The Idempotency-Key HTTP
// Header Field"): a double-clicked Run, a resubmitted form or a client's retry after a lost answer
// costs one prediction, not two. The key is scoped to the caller's rate-limit client key (its
// identity; else its address with TRUST_PROXY; else one scope for every anonymous caller), and is
// a secret of at least MIN_KEY_LENGTH characters: within a shared scope only who holds the key
// reaches its prediction. With the same key:
// - the same body within 24 h answers the prediction the first request created (sync: waits for
//   it; async: 202 with the same Location; event stream: follows it), never a second create;
// - another body answers 422; a first request still creating answers 409 with Retry-After, unless
//   its caller has left: then the repeat waits for that prediction and follows it (a retry after a
//   dropped connection re-attaches), and the first request, waiting LEAVE_GRACE_MS before its
//   cancel, leaves the prediction to it.
// The records live in the shared state (Redis with REDIS_URL, else this process), so the rule
// holds across instances. When the store fails before the create, the answer is a 503 and nothing
// is created; when it fails after, the prediction is still answered (its record then stays
// "creating" for CREATING_TTL_MS: a retry with the key gets 409 until then, then creates anew).

import { keepAlive } from "./after-answer";
import { freedOnFailure } from "./freed-on-failure";
import { systemClock } from "./clock";
import { clientKey } from "./guard/rate-limit";
import { prefersAsync, wantsEventStream } from "./http/sse-response";
import { logWarning } from "./log";
import { Problem } from "./problem";
import { outcomeStatus, predictionResponse } from "./replicate/answer";
import { currentPrediction } from "./replicate/current-prediction";
import { releaseInputFiles } from "./replicate/file-inputs";
import { predictionLocation } from "./replicate/prediction-handle";
import { cancelAndSettle, deadlineOf, followPrediction, type RunOptions, type RunOutcome } from "./replicate/run-prediction";
import { streamPrediction } from "./replicate/stream-prediction";
import type { RequestContext } from "./route-handler";
import { bodyHash, idempotencyKey, type IdempotencyStore } from "./shared-state/idempotency";
import { SharedStateUnavailable } from "./shared-state/redis-connection";
import { invalidFieldsProblem } from "./validation";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Longer than any UUID or ULID with a prefix; a key is an id, not a payload. */
export const MAX_KEY_LENGTH = 255;
/**
 * A key is a secret (a UUID is 36 characters): its scope may be shared by many callers (every
 * anonymous caller without TRUST_PROXY, every holder of ROUTE_API_KEY), so a short guessable key
 * would let one of them reach, or learn of, another's prediction.
 */
export const MIN_KEY_LENGTH = 16;

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
  if (key === undefined || key.length < MIN_KEY_LENGTH || key.length > MAX_KEY_LENGTH) {
    const range = `${MIN_KEY_LENGTH} to ${MAX_KEY_LENGTH} characters`;
    const detail = `${IDEMPOTENCY_HEADER} must be a quoted string (e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324") or a token of ${range}: a random UUID, kept secret.`;
    throw invalidFieldsProblem("Invalid Idempotency-Key", detail, [
      { field: IDEMPOTENCY_HEADER, description: `is not a quoted string or token of ${range}` },
    ]);
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
      /** Passes `work` (uploads, anything before the create): any failure frees the key. */
      beforeCreate<T>(work: Promise<T>): Promise<T>;
      /** Passes `work` (the create and the wait); a failure before any prediction existed frees the key. */
      track<T>(work: Promise<T>): Promise<T>;
      /** Records in the key's record when the caller's connection drops, so a retry re-attaches instead of a 409. */
      watchLeave(signal: AbortSignal): void;
      /**
       * The caller left: waits its grace (LEAVE_GRACE_MS from the leave or the create, whichever is later, never past `deadline`) for
       * a retry with the key; true when one follows the prediction (it must not be canceled).
       */
      handOver?: (deadline: number) => Promise<boolean>;
    }
  | {
      kind: "replay";
      predictionId: string;
      /** This repeat follows the prediction (see `handOver`). */
      attach(): Promise<void>;
      /** It stopped following: true when it was the last follower after the creating request's client left. */
      detach(): Promise<boolean>;
      /** Whether another repeat follows the prediction now. */
      attached(): Promise<boolean>;
    };

/**
 * How long a sync request with a key, whose caller left, waits for a retry with the same key
 * before canceling. Its cost: the prediction runs (billed) up to this long after a caller who
 * never comes back has left; without a key the cancel goes out at once.
 */
export const LEAVE_GRACE_MS = 5_000;
/** How often a retry whose first request's caller left asks whether the prediction exists yet. */
const REATTACH_POLL_MS = 250;

const UNCLAIMED: CreateClaim = {
  kind: "create",
  created: () => {},
  beforeCreate: (work) => work,
  track: (work) => work,
  watchLeave: () => {},
};

export async function claimCreate(
  request: Request,
  context: Pick<RequestContext, "caller" | "guard"> & Partial<Pick<RequestContext, "config" | "receivedAt">>,
  body: unknown,
  store: IdempotencyStore | undefined = context.config?.engine.shared().idempotency,
): Promise<CreateClaim> {
  const key = readIdempotencyKey(request.headers);
  if (key === undefined) return UNCLAIMED;
  const scope = clientKey(request.headers, context.caller ?? { identity: null }, context.guard);
  if (!store) throw new Error("claimCreate needs an engine (context.config) or a store");
  const clock = context.config?.engine.clock ?? systemClock;
  const record = idempotencyKey(scope, key);
  const hash = bodyHash(JSON.stringify(body));
  // A retry whose first request's caller left waits (up to its own cap) for that prediction.
  const waitUntil = context.config && context.receivedAt !== undefined ? deadlineOf(context.config, context.receivedAt) : 0;
  let decision = await store.begin(record, hash, clock.now());
  while (
    decision.kind === "in-progress" &&
    decision.left &&
    clock.now() + REATTACH_POLL_MS < waitUntil &&
    !request.signal.aborted
  ) {
    await clock.sleep(REATTACH_POLL_MS);
    decision = await store.begin(record, hash, clock.now());
  }
  if (decision.kind === "created") {
    return {
      kind: "replay",
      predictionId: decision.predictionId,
      attach: () => store.attach(record),
      detach: async () => {
        const { followers, left } = await store.detach(record);
        return left && followers === 0;
      },
      attached: () => store.attached(record),
    };
  }
  if (decision.kind === "different-body") {
    throw new Problem(
      422,
      "Idempotency-Key reused",
      `This ${IDEMPOTENCY_HEADER} was used with another body; send a new key for a new prediction.`,
    );
  }
  if (decision.kind === "in-progress") {
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new Problem(
      409,
      "Request in progress",
      `A request with this ${IDEMPOTENCY_HEADER} is still creating its prediction; try again in ${seconds} s.`,
      {
        headers: { "Retry-After": String(seconds) },
      },
    );
  }
  let predictionId: string | undefined;
  let leftAt: number | undefined;
  let createdAt: number | undefined;
  const abandon = () => store.abandon(record).catch(() => undefined);
  const markLeft = () => {
    if (leftAt !== undefined) return;
    leftAt = clock.now();
    keepAlive(
      "mark the Idempotency-Key record left",
      store.leave(record).catch(() => undefined),
    );
  };
  return {
    kind: "create",
    created(id) {
      if (predictionId !== undefined) return;
      predictionId = id;
      createdAt = clock.now();
      // Never fails the answer: the prediction exists and is answered; the record then expires as "creating".
      // Kept alive past an answer sent at once (async mode) on hosts that freeze after answering.
      keepAlive(
        "complete the Idempotency-Key record",
        store.complete(record, id, clock.now()).catch((error: unknown) => unrecorded(id, error)),
      );
    },
    ...freedOnFailure(abandon, () => predictionId !== undefined),
    watchLeave(signal) {
      if (signal.aborted) markLeft();
      else signal.addEventListener("abort", markLeft, { once: true });
    },
    async handOver(deadline) {
      markLeft();
      // A retry can follow only once the prediction exists: the grace runs from the later of the leave and the create.
      const until = Math.min(Math.max(leftAt!, createdAt ?? leftAt!) + LEAVE_GRACE_MS, deadline);
      if (until > clock.now()) await clock.sleep(until - clock.now());
      return store.attached(record).catch(() => false);
    },
  };
}

/**
 * A refusal (4xx: Replicate's or our pacing's), a failure known to come before any create (an
 * upload, a create never sent) or a shared-state failure happened before any create was accepted.
 * A 5xx or a lost connection may hide a prediction created upstream: its key stays "creating"
 * (and its spend reservation stands) rather than let a retry pay for a second one.
 */
function unrecorded(predictionId: string, error: unknown): void {
  if (error instanceof SharedStateUnavailable) return; // the outage was logged once already
  logWarning(
    "idempotency_unrecorded",
    `Prediction ${predictionId} was created but its Idempotency-Key record was not completed: ${String(error)}`,
  );
}

/**
 * The answer to a repeat of a request that created the claim's prediction, in the mode this
 * request asks for. A repeat that follows it (JSON or stream) attaches to it while it follows, so
 * a first request whose caller left does not cancel it (a retry after a dropped connection
 * re-attaches). It cancels only as the last follower to leave after the first request's caller
 * left, after the same grace (LEAVE_GRACE_MS) for yet another retry.
 */
export async function replayPrediction(
  request: Request,
  context: RequestContext,
  claim: Extract<CreateClaim, { kind: "replay" }>,
): Promise<Response> {
  const { config, receivedAt, stats } = context;
  const { predictionId } = claim;
  context.predictionId = predictionId;
  const deadline = deadlineOf(config, receivedAt);
  const location = predictionLocation(config, predictionId, context.caller);
  if (prefersAsync(request)) {
    const prediction = await currentPrediction(config, predictionId, { stats });
    return predictionResponse(config, prediction, 202, { Location: location, "Preference-Applied": "respond-async" });
  }
  await claim.attach().catch(() => undefined);
  const follow = async (signal: AbortSignal, options: Pick<RunOptions, "onUpdate" | "needsLogs"> = {}) => {
    let outcome: RunOutcome | undefined;
    try {
      outcome = await followPrediction(config, await currentPrediction(config, predictionId, { stats }), {
        ...options,
        signal,
        deadline,
        stats,
        cancelWhenStopped: false,
      });
      // Whoever sees the end deletes its uploaded inputs (as a GET does): the first request may be long gone.
      releaseInputFiles(config, outcome.prediction);
      return outcome;
    } finally {
      // A follower that saw it end stays counted: nobody need cancel an ended prediction.
      if (outcome?.kind !== "terminal") await leaveFollow(signal, outcome);
    }
  };
  // The last follower to leave, after the creating request's client left, took the prediction over:
  // it waits the same grace for yet another retry, then cancels (nobody is left to read it).
  const leaveFollow = async (signal: AbortSignal, outcome: RunOutcome | undefined) => {
    const last = await claim.detach().catch(() => false);
    if (!last || !signal.aborted || outcome?.kind !== "detached") return;
    const { clock } = config.engine;
    const until = Math.min(clock.now() + LEAVE_GRACE_MS, deadline);
    if (until > clock.now()) await clock.sleep(until - clock.now());
    if (await claim.attached().catch(() => false)) return;
    await cancelAndSettle(config, predictionId, stats);
  };
  if (wantsEventStream(request)) {
    return streamPrediction(
      config,
      ({ signal, onUpdate }) => follow(signal, { onUpdate, needsLogs: true }),
      request.signal,
      stats,
      { location, deadline },
    );
  }
  const outcome = await follow(request.signal);
  return predictionResponse(config, outcome.prediction, outcomeStatus(outcome), { "Content-Location": location }, { deadline });
}
