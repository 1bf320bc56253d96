import { parseCreateBody, SIMULATED_VERSION_ID, type CreateSpec, type CreateTarget, type ModelPolicy } from "./create-request";
import { predictionEventStream } from "./prediction-stream";
import {
  DROP,
  FaultPlan,
  faultResponse,
  truncatedResponse,
  type Drop,
  type FailNextOptions,
  type RandomFaults,
  mulberry32,
} from "./faults";
import { SimFiles, type FileAnswer } from "./files-api";
import { newPredictionId, seedFromId } from "./ids";
import { planOutput } from "./model-outputs";
import { findSimulatedDeployment, findSimulatedModel, modelVersions, SIMULATED_ACCOUNT } from "./models";
import { renderSeedPng, seedPngDataUrl } from "./png-image";
import { listPredictionsPage } from "./prediction-list";
import { parseDirectives } from "./prompt-directives";
import { parseCancelAfter, parsePreferWait } from "./request-headers";
import {
  INVALID_JSON,
  MODEL_NOT_FOUND,
  NOT_FOUND,
  UNAUTHENTICATED,
  jsonResponse,
  problemResponse,
  throttledResponse,
} from "./responses";
import type { ProblemBody, PredictionJson } from "./types";
import {
  DEFAULT_WEBHOOK_RETRY_SCALE,
  isOfficialModel,
  LOW_CREDIT_RATE_LIMITS,
  REPLICATE_WEBHOOK_RETRY_DELAYS_MS,
  UNTIDY_DEFAULTS,
  type Untidiness,
} from "./untidiness";
import { matchRoute, type Route, type RouteKind } from "./routes";
import { Scheduler } from "./scheduler";
import { PLATFORM_RUN_LIMIT_MS, SimPrediction, type FileExtension } from "./sim-prediction";
import { sampleImageBytes, sampleImageDataUrl } from "./sample-images";
import { renderPredictionSvg } from "./svg-image";
import { TokenBucket } from "./token-bucket";
import type { EndpointKind, Fault, TerminalStatus } from "./types";
import { DEFAULT_WEBHOOK_SECRET, WebhookDispatcher, type WebhookDelivery } from "./webhooks";

/**
 * The project's one simulated Replicate: a Fetch-API core (`handle(request)`) that answers what
 * Replicate's HTTP API answers, with models whose timing, logs and output follow their input: the
 * catalogue's (models/index.ts, also served on GET /models/{owner}/{name}[/versions/{id}]) by their
 * Output schema (model-outputs.ts), any other as the seed's image model.
 * Adapters: `msw.ts` (inside vitest) and `server.ts` (a loopback node:http server). Test code only.
 * It is as untidy as production by default (see `untidiness.ts`); `sim.untidy` holds the switches.
 */

export { DROP };
export type { Drop };

export const DEFAULT_TOKEN = "r8_simulated_token";

export interface RateLimits {
  createPerMinute: number;
  otherPerMinute: number;
  /** Tokens a bucket can save up (both buckets). Default: each bucket's per-minute count. */
  burst?: number;
}

export interface SimulatedReplicateOptions extends Partial<Untidiness> {
  /** The accepted API token (default "r8_simulated_token"). */
  token?: string;
  /** Public origin for `urls` and output files; default: the origin of the request that created it. */
  origin?: string;
  /** Origin of `urls.stream` (see `separateStreamHost`); default: origin. */
  streamOrigin?: string;
  /** starting -> processing (default 300 ms). */
  bootMs?: number;
  /** processing -> terminal (default 2000 ms). */
  runMs?: number | ((input: Record<string, unknown>) => number);
  /** Added before every answer (default 0). */
  latencyMs?: number;
  /** Cap on a `Prefer: wait` hold (default 60 000 ms). */
  maxSyncWaitMs?: number;
  /** The platform's limit on a run: past it the prediction fails, "Prediction timed out" (default 30 minutes, as on Replicate; null: none). */
  maxRunMs?: number | null;
  /** Delay of the "slow" fault (default 2000 ms). */
  slowMs?: number;
  /** Token buckets for creates and for everything else (default false: no limit). */
  rateLimits?: false | RateLimits;
  /** An account with little credit: 6 creates a minute, 1 request a second, burst 1 (overrides rateLimits). */
  lowCredit?: boolean;
  randomFaults?: RandomFaults;
  /** Seed of the random-fault PRNG (default 1). */
  seed?: number;
  webhookSecret?: string;
  /** Waits between retries of the `completed` webhook (default: Replicate's schedule times webhookRetryScale). */
  webhookRetryDelaysMs?: readonly number[];
  /** Scale of Replicate's retry schedule (1 s ... 30 s, the last try ~1 min after completion); default 1/100. */
  webhookRetryScale?: number;
  /** fetch used for webhook deliveries (default: global fetch at delivery time). */
  webhookFetch?: typeof fetch;
  /** How long an uploaded file lives (default 24 h, as on Replicate). */
  fileExpiryMs?: number;
}

/** Settings that tests may change on a running simulator (`sim.config.runMs = 50`). */
export interface SimulatorConfig {
  token: string;
  bootMs: number;
  runMs: number | ((input: Record<string, unknown>) => number);
  latencyMs: number;
  maxSyncWaitMs: number;
  maxRunMs: number | null;
  slowMs: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  path: string;
  kind: RouteKind;
  status: number | "drop";
  /** Epoch ms when the request arrived. */
  at: number;
  durationMs: number;
  /** Lower-cased names; the authorization value is redacted. */
  headers: Record<string, string>;
}

export class SimulatedReplicate {
  readonly config: SimulatorConfig;
  /** Public origin for URLs; the server adapter sets it, the msw adapter sets it from its base URL. */
  origin: string | undefined;
  /** Origin of `urls.stream` when `untidy.separateStreamHost` (the msw adapter sets `stream.<api host>`). */
  streamOrigin: string | undefined;
  readonly webhookSecret: string;
  /** This app's predictions (those created through this simulator's API). */
  readonly predictions = new Map<string, SimPrediction>();
  /** The account's other predictions (website, other apps): listed, readable, cancelable. */
  readonly foreignPredictions = new Map<string, SimPrediction>();
  /** Where it is untidier than a tidy simulator; tests may change it (see `override`). */
  readonly untidy: Untidiness;
  readonly requests: RecordedRequest[] = [];
  /** The Files API's files (`sim.files.add(...)` adds one, e.g. another account's). */
  readonly files: SimFiles;
  /** Connections the server adapter accepted (keep-alive reuse shows as a small number). */
  connectionCount = 0;
  /** 429 answers sent (rate limit or injected). */
  throttled = 0;

  private readonly scheduler = new Scheduler();
  private readonly webhooks: WebhookDispatcher;
  private readonly faults: FaultPlan;
  private readonly counts = new Map<RouteKind, number>();
  /** Predictions in creation order, for the list endpoint. */
  private createdInOrder: SimPrediction[] = [];
  private nextSeq = 1;
  private rateLimits: false | RateLimits;
  private buckets: { create: TokenBucket; other: TokenBucket } | null = null;
  private rateLimitThrottles = 0;
  private foreignOwed = 0;
  private foreignRandom: () => number;
  private readonly seed: number;

  constructor(options: SimulatedReplicateOptions = {}) {
    this.config = {
      token: options.token ?? DEFAULT_TOKEN,
      bootMs: options.bootMs ?? 300,
      runMs: options.runMs ?? 2000,
      latencyMs: options.latencyMs ?? 0,
      maxSyncWaitMs: options.maxSyncWaitMs ?? 60_000,
      maxRunMs: options.maxRunMs === undefined ? PLATFORM_RUN_LIMIT_MS : options.maxRunMs,
      slowMs: options.slowMs ?? 2000,
    };
    this.files = new SimFiles({ expiryMs: options.fileExpiryMs });
    this.origin = options.origin?.replace(/\/+$/, "");
    this.streamOrigin = options.streamOrigin?.replace(/\/+$/, "");
    this.untidy = { ...UNTIDY_DEFAULTS };
    for (const key of Object.keys(UNTIDY_DEFAULTS) as (keyof Untidiness)[]) {
      if (options[key] !== undefined) Object.assign(this.untidy, { [key]: options[key] });
    }
    this.seed = options.seed ?? 1;
    this.foreignRandom = mulberry32(this.seed ^ 0x5eed);
    this.webhookSecret = options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;
    this.webhooks = new WebhookDispatcher({
      secret: this.webhookSecret,
      retryDelaysMs:
        options.webhookRetryDelaysMs ??
        REPLICATE_WEBHOOK_RETRY_DELAYS_MS.map((ms) => ms * (options.webhookRetryScale ?? DEFAULT_WEBHOOK_RETRY_SCALE)),
      scheduler: this.scheduler,
      fetch: options.webhookFetch,
    });
    this.faults = new FaultPlan(options.randomFaults, this.seed);
    this.rateLimits = options.lowCredit ? { ...LOW_CREDIT_RATE_LIMITS } : (options.rateLimits ?? false);
    this.resetBuckets();
  }

  /** Answers one request as Replicate would; `DROP` means: cut the connection without an answer. */
  async handle(request: Request): Promise<Response | Drop> {
    const at = Date.now();
    const url = new URL(request.url);
    const route = matchRoute(request.method, url.pathname);
    let answer: Response | Drop;
    try {
      answer = await this.answerWithFaults(request, url, route);
    } catch (error) {
      console.error("[simulated-replicate] internal error:", error);
      answer = this.problem({ title: "Simulator error", detail: String(error), status: 500 });
    }
    this.record(request, url, route.kind, answer, at);
    return answer;
  }

  // ---- test controls -------------------------------------------------------------------------

  /** Queues a fault for the next matching request(s), FIFO. See `answerWithFaults` for what each does. */
  failNext(endpoint: EndpointKind | "any", fault: Fault, options?: FailNextOptions): void {
    this.faults.failNext(endpoint, fault, options);
  }

  setRandomFaults(randomFaults: RandomFaults | null): void {
    this.faults.setRandom(randomFaults);
  }

  setRateLimits(rateLimits: false | RateLimits): void {
    this.rateLimits = rateLimits;
    this.resetBuckets();
  }

  /**
   * Changes some untidy behaviours until the returned function restores them, e.g.
   * `onTestFinished(sim.override({ foreignTraffic: false }))` for one test.
   */
  override(changes: Partial<Untidiness>): () => void {
    const before = { ...this.untidy };
    Object.assign(this.untidy, changes);
    return () => void Object.assign(this.untidy, before);
  }

  /** A prediction of the account, this app's or a foreign one. */
  get(id: string): SimPrediction | undefined {
    return this.predictions.get(id) ?? this.foreignPredictions.get(id);
  }

  /** Ends a running prediction now, as the model or the platform would. False if it had already ended. */
  finish(id: string, status: TerminalStatus, options: { error?: string } = {}): boolean {
    const prediction = this.get(id);
    if (!prediction) throw new Error(`finish: no prediction ${id}`);
    return prediction.finish(status, { error: options.error, via: "simulator" });
  }

  /** Requests seen for one endpoint kind. */
  count(kind: RouteKind): number {
    return this.counts.get(kind) ?? 0;
  }

  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.webhooks.deliveries;
  }

  /** Holds, streams and webhook watches still pending (0 once everything settled). */
  get pendingWaits(): number {
    return this.scheduler.pendingCount;
  }

  /** Ends every pending hold, stream and webhook watch (they answer or stop at once). */
  shutdown(): void {
    this.scheduler.shutdown();
  }

  /** Forgets everything (predictions, requests, deliveries, queued faults, counters); keeps the config. */
  reset(): void {
    this.shutdown();
    this.predictions.clear();
    this.foreignPredictions.clear();
    this.files.reset();
    this.foreignOwed = 0;
    this.foreignRandom = mulberry32(this.seed ^ 0x5eed);
    this.rateLimitThrottles = 0;
    this.createdInOrder = [];
    this.requests.length = 0;
    this.webhooks.deliveries.length = 0;
    this.counts.clear();
    this.faults.clear();
    this.throttled = 0;
    this.connectionCount = 0;
    this.resetBuckets();
  }

  // ---- request pipeline ----------------------------------------------------------------------

  /**
   * Applies an injected fault around the real answer. "429" is answered before anything happens, so
   * a throttled create never creates. "500"/"502"/"503"/"drop"/"html200" on a create answer AFTER the
   * prediction was created (the real danger of retrying a create); on other endpoints they answer
   * instead. "slow" delays the real answer; "truncated" cuts it in half.
   */
  private async answerWithFaults(request: Request, url: URL, route: Route): Promise<Response | Drop> {
    if (this.config.latencyMs > 0) await this.scheduler.sleep(this.config.latencyMs, request.signal);
    const chosen = route.kind === "unknown" ? null : this.faults.take(route.kind);
    if (!chosen) return this.answer(request, url, route);

    switch (chosen.fault) {
      case "429":
        this.throttled += 1;
        return faultResponse(chosen);
      case "slow":
        await this.scheduler.sleep(this.config.slowMs, request.signal);
        return this.answer(request, url, route);
      case "truncated":
        if (route.kind === "stream") return this.answer(request, url, route, { truncateStream: true });
        return truncatedResponse(await this.answer(request, url, route));
      default:
        if (route.kind === "create") {
          const lostAnswer = await this.answer(request, url, route);
          await lostAnswer.body?.cancel();
        }
        return faultResponse(chosen);
    }
  }

  private async answer(request: Request, url: URL, route: Route, options: { truncateStream?: boolean } = {}): Promise<Response> {
    // Output files and streams are public URLs on Replicate: no token, no API rate limit.
    if (route.kind === "file") return this.serveFile(route.id, route.fileName);
    if (route.kind === "stream") return this.serveStream(route.id, request, options.truncateStream ?? false);

    if (!this.isAuthorized(request)) return this.problem(UNAUTHENTICATED);
    const throttled = this.takeRateLimitToken(route.kind);
    if (throttled) return throttled;

    const origin = this.origin ?? url.origin;
    switch (route.kind) {
      case "create":
        return this.create(request, route.target, origin);
      case "list":
        return listPredictionsPage(this.createdInOrder, url.searchParams, origin, {
          omitLogs: this.untidy.listOmitsLogs,
          problemStyle: this.untidy.problemStyle,
        });
      case "get":
        return this.withPrediction(route.id, (prediction) => jsonResponse(200, prediction.toJSON()));
      case "cancel":
        return this.withPrediction(route.id, (prediction) => {
          prediction.finish("canceled", { via: "cancel" });
          const json = prediction.toJSON();
          if (this.untidy.cancelLogsNull) json.logs = null;
          return jsonResponse(200, json);
        });
      case "secret":
        return jsonResponse(200, { key: this.webhookSecret });
      case "files":
        return this.filesAnswer(
          route.action === "upload" ? await this.files.upload(request, origin) : this.files[route.action](route.id, origin),
        );
      case "model":
        return this.modelAnswer(route.owner, route.name, route.version);
      case "account":
        return jsonResponse(200, SIMULATED_ACCOUNT);
      case "deployment": {
        const deployment = findSimulatedDeployment(route.owner, route.name);
        return deployment ? jsonResponse(200, deployment) : this.problem(MODEL_NOT_FOUND);
      }
      case "unknown":
        return this.problem(NOT_FOUND);
    }
  }

  private async create(request: Request, target: CreateTarget, origin: string): Promise<Response> {
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return this.problem(INVALID_JSON);
    }
    const parsed = parseCreateBody(target, body, this.modelPolicy());
    if ("problem" in parsed) return this.problem(parsed.problem);
    const wait = parsePreferWait(request.headers.get("prefer"));
    if (!wait.ok) return this.problem(wait.problem);
    const cancelAfter = parseCancelAfter(request.headers.get("cancel-after"));
    if (!cancelAfter.ok) return this.problem(cancelAfter.problem);
    const modelInput = this.files.modelInput(parsed.spec.input, origin);
    if ("problem" in modelInput) return this.problem(modelInput.problem);

    this.addForeignTraffic(origin);
    const prediction = this.addPrediction(parsed.spec, origin, cancelAfter.value);
    if (modelInput.input !== parsed.spec.input) this.files.readByModel.set(prediction.id, modelInput.input);
    const { webhook } = parsed.spec;
    if (webhook) {
      this.webhooks
        .watch(prediction, webhook.url, webhook.events)
        .catch((error: unknown) => console.error("[simulated-replicate] webhook watch failed:", error));
    }
    if (wait.value === null) return jsonResponse(201, prediction.toJSON());
    const holdMs = Math.min(wait.value * 1000, this.config.maxSyncWaitMs);
    await this.holdUntilTerminal(prediction, Date.now() + holdMs, request.signal);
    return jsonResponse(201, this.heldAnswer(prediction), { "preference-applied": `wait=${wait.value}` });
  }

  /** GET /models/{owner}/{name} (with `latest_version`) or one of its versions, from the catalogue. */
  private modelAnswer(owner: string, name: string, versionId: string | null): Response {
    const model = findSimulatedModel(owner, name);
    if (!model) return this.problem(MODEL_NOT_FOUND);
    if (versionId === null) return jsonResponse(200, model);
    const version = modelVersions(model).find((candidate) => candidate.id === versionId);
    return version ? jsonResponse(200, version) : this.problem(MODEL_NOT_FOUND);
  }

  /**
   * What a held create answers, as production does today: the prediction as it stands, an image
   * model's files as HTTPS URLs (as data URLs with `syncDataUrls`, as the sync API answered them for
   * a few weeks in autumn 2024). Past the window (`staleHeldCreates`), an image model less than half
   * done answers `starting` although it runs, one past half `processing` with its files already
   * complete; a text model answers `processing` with its output so far, as recorded.
   */
  private heldAnswer(prediction: SimPrediction): PredictionJson {
    const now = Date.now();
    const json = prediction.toJSON(now);
    if (prediction.plan.kind !== "image") return json;
    const files = () =>
      prediction.shapeFiles(this.untidy.syncDataUrls ? this.outputDataUrls(prediction) : prediction.outputFileUrls());
    if (json.status === "succeeded") {
      json.output = files();
    } else if (json.status === "processing" && this.untidy.staleHeldCreates) {
      if (filesComplete(prediction, now)) json.output = files();
      else Object.assign(json, { status: "starting", started_at: null, logs: "", output: null });
    }
    return json;
  }

  /** The files as data URLs of their format (the seed's SVGs travel as PNGs, as before). */
  private outputDataUrls(prediction: SimPrediction): string[] {
    const { count, extension } = prediction.files;
    return Array.from({ length: count }, (_, index) =>
      extension === "webp" || extension === "jpg"
        ? sampleImageDataUrl(extension)
        : seedPngDataUrl(prediction.plan.seed + index, this.untidy.dataUrlBytes),
    );
  }

  private streamOriginFor(origin: string): string {
    return this.untidy.separateStreamHost ? (this.streamOrigin ?? origin) : origin;
  }

  private modelPolicy(): ModelPolicy {
    return {
      isOfficial: (model) => isOfficialModel(this.untidy, model),
      unofficialStatus: this.untidy.unofficialModelStatus,
    };
  }

  /** The account's other traffic since the last create: `perOwn` foreign predictions a create. */
  private addForeignTraffic(origin: string): void {
    const foreign = this.untidy.foreignTraffic;
    if (!foreign) return;
    this.foreignOwed += foreign.perOwn;
    const random = this.foreignRandom;
    for (; this.foreignOwed >= 1; this.foreignOwed -= 1) {
      const web = random() < 0.5;
      const text = random() < 0.3;
      const model = FOREIGN_MODELS[Math.floor(random() * FOREIGN_MODELS.length)];
      const prompt = `${FOREIGN_PROMPTS[Math.floor(random() * FOREIGN_PROMPTS.length)]}${text ? " [text]" : ""}`;
      const id = newPredictionId();
      const prediction = new SimPrediction({
        id,
        seq: this.nextSeq++,
        origin,
        input: { prompt },
        prompt,
        model,
        version: SIMULATED_VERSION_ID,
        createdAt: Date.now(),
        bootMs: Math.round(random() * 1_000),
        runMs: Math.round(500 + random() * 5_000),
        outcome: random() < 0.1 ? "fail" : "succeed",
        kind: text ? "text" : "image",
        refiner: false,
        seed: seedFromId(id),
        deadline: null,
        source: web ? "web" : "api",
        retentionMs: web || this.untidy.retentionMs === false ? null : this.untidy.retentionMs,
        imageStream: this.untidy.imageStreams,
        streamOrigin: this.streamOriginFor(origin),
      });
      this.foreignPredictions.set(id, prediction);
      this.createdInOrder.push(prediction);
    }
  }

  private addPrediction(spec: CreateSpec, origin: string, cancelAfterMs: number | null): SimPrediction {
    const directives = parseDirectives(spec.prompt);
    const output = planOutput(spec.input, spec.catalogue);
    const { runMs } = this.config;
    const createdAt = Date.now();
    const id = newPredictionId();
    const prediction = new SimPrediction({
      id,
      seq: this.nextSeq++,
      origin,
      input: spec.input,
      prompt: spec.prompt,
      model: spec.model,
      version: spec.version,
      deployment: spec.deployment,
      createdAt,
      bootMs: directives.bootMs ?? this.config.bootMs,
      runMs: directives.runMs ?? (typeof runMs === "function" ? runMs(spec.input) : runMs),
      outcome: directives.never ? "never" : directives.fail ? "fail" : "succeed",
      kind: directives.text ? "text" : (output?.kind ?? "image"),
      ...(output?.kind === "image" ? { files: output.files } : {}),
      ...(output?.kind === "text" ? { maxTokens: output.maxTokens } : {}),
      ...(output?.kind === "transcript" ? { transcript: output.transcript } : {}),
      refiner: directives.refiner,
      seed: Number.isInteger(spec.input.seed) ? (spec.input.seed as number) : seedFromId(id),
      deadline: cancelAfterMs === null ? null : createdAt + cancelAfterMs,
      maxRunMs: this.config.maxRunMs,
      retentionMs: this.untidy.retentionMs === false ? null : this.untidy.retentionMs,
      imageStream: this.untidy.imageStreams,
      streamOrigin: this.streamOriginFor(origin),
    });
    this.predictions.set(id, prediction);
    this.createdInOrder.push(prediction);
    return prediction;
  }

  private async holdUntilTerminal(prediction: SimPrediction, until: number, signal: AbortSignal): Promise<void> {
    while (!prediction.isTerminal() && Date.now() < until) {
      const woke = await this.scheduler.waitUntil(until, { prediction, signal });
      if (woke === "aborted" || woke === "shutdown") return;
    }
  }

  private serveFile(id: string, fileName: string): Response {
    const prediction = this.get(id);
    const match = /^out-(\d+)\.(svg|png|webp|jpg)$/.exec(fileName);
    const served = prediction?.plan.kind === "image" && filesComplete(prediction) && !prediction.isDataRemoved();
    if (!prediction || !match || !served) return this.problem(NOT_FOUND);
    const index = Number(match[1]);
    const extension = match[2] as FileExtension;
    const { count, extension: made } = prediction.files;
    if (index >= count || extension !== made) return this.problem(NOT_FOUND);
    const { input, prompt } = prediction.plan;
    const seed = prediction.plan.seed + index;
    const headers = { "cache-control": "public, max-age=3600" };
    if (extension === "png") {
      return new Response(renderSeedPng(seed), { headers: { ...headers, "content-type": "image/png" } });
    }
    if (extension === "webp" || extension === "jpg") {
      const contentType = extension === "webp" ? "image/webp" : "image/jpeg";
      return new Response(sampleImageBytes(extension), { headers: { ...headers, "content-type": contentType } });
    }
    const svg = renderPredictionSvg({ prompt, seed, style: input.style, image: (this.files.readByModel.get(id) ?? input).image });
    return new Response(svg, { headers: { ...headers, "content-type": "image/svg+xml" } });
  }

  private serveStream(id: string, request: Request, truncate: boolean): Response {
    const prediction = this.get(id);
    if (!prediction || prediction.streamUrl() === null) return this.problem(NOT_FOUND);
    const files = prediction.plan.kind === "text" ? [] : this.fileStreamData(prediction);
    const stream = predictionEventStream(prediction, this.scheduler, { truncate, signal: request.signal, files });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
    });
  }

  /** A file stream's `output` events, one a file: the files' URLs or their data URLs. */
  private fileStreamData(prediction: SimPrediction): string[] {
    const mode = this.untidy.fileStreamData;
    const dataUrl = mode === "data-url" || (mode === "by-seed" && prediction.plan.seed % 2 === 1);
    return dataUrl ? this.outputDataUrls(prediction) : prediction.outputFileUrls();
  }

  private filesAnswer(answer: FileAnswer): Response {
    if ("problem" in answer) return this.problem(answer.problem);
    if (answer.bytes)
      return new Response(answer.bytes, {
        status: answer.status,
        headers: { "content-type": answer.contentType ?? "application/octet-stream" },
      });
    return answer.body === undefined ? new Response(null, { status: answer.status }) : jsonResponse(answer.status, answer.body);
  }

  private withPrediction(id: string, answer: (prediction: SimPrediction) => Response): Response {
    const prediction = this.get(id);
    return prediction ? answer(prediction) : this.problem(NOT_FOUND);
  }

  private problem(body: ProblemBody, headers: Record<string, string> = {}): Response {
    return problemResponse(body, headers, this.untidy.problemStyle);
  }

  private isAuthorized(request: Request): boolean {
    const header = request.headers.get("authorization") ?? "";
    const match = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(header);
    return match !== null && match[1] === this.config.token;
  }

  private takeRateLimitToken(kind: RouteKind): Response | null {
    if (!this.buckets) return null;
    const taken = (kind === "create" ? this.buckets.create : this.buckets.other).take();
    if (taken.ok) return null;
    this.throttled += 1;
    // "cycle": both wordings, each with and without Retry-After, in turn.
    const variant = this.untidy.throttleAnswers === "tidy" ? 0 : this.rateLimitThrottles++ % 4;
    const wording = variant % 2 === 0 ? "resets-in" : "expected-available";
    return throttledResponse(taken.retryAfterSeconds, variant === 0 || variant === 3, wording, this.untidy.problemStyle);
  }

  private resetBuckets(): void {
    const limits = this.rateLimits;
    this.buckets = limits
      ? {
          create: new TokenBucket(limits.createPerMinute, limits.burst ?? limits.createPerMinute),
          other: new TokenBucket(limits.otherPerMinute, limits.burst ?? limits.otherPerMinute),
        }
      : null;
  }

  private record(request: Request, url: URL, kind: RouteKind, answer: Response | Drop, at: number): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.requests.push({
      method: request.method,
      path: url.pathname + url.search,
      kind,
      status: answer === DROP ? "drop" : answer.status,
      at,
      durationMs: Date.now() - at,
      headers: redactedHeaders(request.headers),
    });
  }
}

function redactedHeaders(headers: Headers): Record<string, string> {
  const result: Record<string, string> = {};
  headers.forEach((value, name) => {
    result[name] = name === "authorization" ? value.replace(/^(\S+\s+)?.*$/s, "$1[redacted]") : value;
  });
  return result;
}

/** Models and prompts of the account's other traffic. */
const FOREIGN_MODELS = [
  "stability-ai/sdxl",
  "black-forest-labs/flux-schnell",
  "meta/meta-llama-3-8b-instruct",
  "someone/fine-tune",
];
const FOREIGN_PROMPTS = ["a studio photo of a rainbow colored corgi", "an astronaut riding a horse", "a haiku about llamas"];

/**
 * An image prediction's files exist once it succeeded, and (as a held create may answer them while
 * `processing`) once its run is past half; a failed or canceled run has none.
 */
function filesComplete(prediction: SimPrediction, now = Date.now()): boolean {
  const status = prediction.status(now);
  return status === "succeeded" || (status === "processing" && prediction.progress(now) >= 0.5);
}
