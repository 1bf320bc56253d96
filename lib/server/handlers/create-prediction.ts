import "server-only";
// `POST /api/ai/replicate`: the seed's story, made correct, as named steps: parse the body, claim
// its Idempotency-Key, reserve its model time (the spend guard), upload large file inputs, create
// the prediction, then wait for it, stream it, or answer 202 at once (as the request asks), and
// answer.

import type { z } from "zod";
import type { Config } from "../config";
import { prefersAsync, wantsEventStream } from "../http/sse-response";
import { readRequestBody } from "../http/read-request-body";
import { claimCreate, replayPrediction, type CreateClaim } from "../idempotent-create";
import { outcomeStatus, predictionResponse } from "../replicate/answer";
import { deletingInputFilesAfter, refuseForeignFiles, uploadLargeInputs } from "../replicate/file-inputs";
import { predictionLocation } from "../replicate/prediction-handle";
import {
  createForRun,
  deadlineOf,
  followPrediction,
  runPrediction,
  startPrediction,
  type RunOutcome,
} from "../replicate/run-prediction";
import { streamPrediction, type Runner } from "../replicate/stream-prediction";
import { webhookFields } from "../replicate/webhooks";
import type { Handler, RequestContext } from "../route-handler";
import { NO_RESERVATION, reserveSpend, type Reservation } from "../spend-guard/spend-guard";
import { inSpan } from "../telemetry";
import { parseOrProblem } from "../validation";
import type { Prediction } from "../../shared/prediction";

/** The app's contract for its model: the body it accepts and how it maps to the model's input. */
export interface ModelSchema<Body extends z.ZodType = z.ZodType> {
  /** The request body (zod); its input side is what `GET .../schema` answers as JSON Schema. */
  requestBodySchema: Body;
  /** The model's `input` for a parsed body. */
  toModelInput(body: z.infer<Body>): Record<string, unknown>;
  /** The model's output schema (JSON Schema), for the page's output panel; optional. */
  outputSchema?: unknown;
}

export function createPredictionHandler(schema: ModelSchema): Handler<Record<string, never>> {
  return async (request, context) => {
    const body = await parse(request, context.config, schema);
    const claim = await claimCreate(request, context, body);
    if (claim.kind === "replay") return replayPrediction(request, context, claim);
    const run = new CreateRun(request, context, claim);
    const modelInput = run.check(schema.toModelInput(body));
    await run.reserve();
    const input = await run.upload(modelInput);
    if (prefersAsync(request)) return run.answerAtOnce(input);
    if (wantsEventStream(request)) return run.stream(input);
    return run.wait(input);
  };
}

/** The body, read within its limits and validated (400 naming each invalid field). */
async function parse(request: Request, config: Config, schema: ModelSchema): Promise<unknown> {
  const read = () => readRequestBody(request, config.maxBodyBytes, schema.requestBodySchema);
  return parseOrProblem(schema.requestBodySchema, await inSpan("replicate.body", {}, read));
}

/** One create, from its uploads to its answer; what every step shares (the cap, the key's claim, the files to delete). */
class CreateRun {
  private readonly config: Config;
  private readonly deadline: number;
  private fileIds: readonly string[] = [];
  private spend: Reservation = NO_RESERVATION;

  constructor(
    private readonly request: Request,
    private readonly context: RequestContext,
    private readonly claim: Extract<CreateClaim, { kind: "create" }>,
  ) {
    this.config = context.config;
    this.deadline = deadlineOf(context.config, context.receivedAt);
  }

  /** A Files API URL the caller sent (not one of this app's uploads) is refused, before anything is reserved. */
  check(modelInput: Record<string, unknown>): Record<string, unknown> {
    return refuseForeignFiles(this.config, modelInput);
  }

  /**
   * The caller's budgets of model time (REPLICATE_BUDGET_*): an estimate is reserved before
   * anything is uploaded or created (402 when it does not fit), and settled when the prediction ends.
   */
  async reserve(): Promise<void> {
    this.spend = this.context.spend = await this.claim.beforeCreate(reserveSpend(this.request, this.context));
  }

  /**
   * Large file inputs go through the Files API (stopped when the caller leaves or at the cap);
   * they are deleted once the prediction has ended.
   */
  async upload(modelInput: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { stats } = this.context;
    const uploading = () =>
      uploadLargeInputs(this.config, modelInput, { deadline: this.deadline, stats, signal: this.request.signal });
    const uploaded = await this.claim.beforeCreate(this.spend.beforeCreate(inSpan("replicate.upload", {}, uploading)));
    this.fileIds = uploaded.fileIds;
    return uploaded.input;
  }

  /** Async mode: 202 at once; followed at Location (or by webhook), which survives reloads. */
  async answerAtOnce(input: Record<string, unknown>): Promise<Response> {
    const { receivedAt, stats } = this.context;
    const prediction = await this.create(
      startPrediction(this.config, input, { signal: this.request.signal, receivedAt, stats, extra: webhookFields(this.config) }),
    );
    this.seen(prediction);
    return predictionResponse(this.config, prediction, 202, {
      Location: this.location(prediction),
      "Preference-Applied": "respond-async",
    });
  }

  /**
   * Live progress: the create first, not held (the page wants the id at once, and the stream's
   * headers name its handle), then every state it sees sent as Server-Sent Events, then `done`.
   */
  async stream(input: Record<string, unknown>): Promise<Response> {
    const { receivedAt, stats } = this.context;
    this.claim.watchLeave(this.request.signal);
    const created = await this.create(
      createForRun(this.config, input, { signal: this.request.signal, receivedAt, stats, holdCreate: false }),
    );
    this.seen(created);
    const follow: Runner = ({ signal, onUpdate }) => {
      this.claim.watchLeave(signal);
      const options = { ...this.following(), signal, needsLogs: true, onUpdate: (p: Prediction) => (this.seen(p), onUpdate(p)) };
      return this.create(followPrediction(this.config, created, options));
    };
    return streamPrediction(this.config, follow, this.request.signal, stats, {
      location: this.location(created),
      deadline: this.deadline,
    });
  }

  /** The default: create, wait until it ends or the cap, answer the prediction. */
  async wait(input: Record<string, unknown>): Promise<Response> {
    this.claim.watchLeave(this.request.signal);
    const options = { ...this.following(), signal: this.request.signal, receivedAt: this.context.receivedAt };
    const outcome = await this.create(runPrediction(this.config, input, options));
    const headers = { "Content-Location": this.location(outcome.prediction) };
    return predictionResponse(this.config, outcome.prediction, outcomeStatus(outcome), headers, { deadline: this.deadline });
  }

  /** The create (and what follows it), tracked by the key's claim; the uploaded files deleted once it ended. */
  private create<T extends RunOutcome | Prediction>(work: Promise<T>): Promise<T> {
    return this.claim.track(this.spend.track(deletingInputFilesAfter(this.config, this.fileIds, work)));
  }

  private following() {
    return {
      deadline: this.deadline,
      stats: this.context.stats,
      handOver: this.claim.handOver,
      onUpdate: (p: Prediction) => this.seen(p),
    };
  }

  /** The prediction is known: the log line names it, the key's record points at it, the reservation is bound (or settled) to it. */
  private seen(prediction: Prediction): void {
    this.context.predictionId = prediction.id;
    this.claim.created(prediction.id);
    this.spend.seen(prediction);
  }

  private location(prediction: Prediction): string {
    return predictionLocation(this.config, prediction.id, this.context.caller);
  }
}
