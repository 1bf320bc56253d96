import { replyTokens } from "./prompt-directives";
import { ProgressLog } from "./tqdm-logs";
import type { CanceledVia, PredictionJson, PredictionStatus, TerminalStatus } from "./types";

/**
 * One simulated prediction. Its whole life is fixed when it is created (boot time, run time, outcome,
 * deadline), so its state at any instant is computed from timestamps: no timer per prediction.
 * Only an outside event (cancel, `finish()`) changes the plan, and it notifies listeners.
 */

export const SIMULATED_FAILURE = "Simulated failure: the model crashed on this prompt";
/**
 * Replicate ends a run at 30 minutes unless support raised the account's limit: the prediction
 * `failed` with this error (the website shows "Prediction failed. Prediction timed out.").
 */
export const PLATFORM_RUN_LIMIT_MS = 30 * 60_000;
export const RUN_TIMED_OUT = "Prediction timed out";
const BASE_STEPS = 30;
const REFINER_STEPS = 10;

export type FileExtension = "svg" | "png" | "webp" | "jpg";

/** An image prediction's files: how many, of which format, and whether `output` is an array of them or one URL. */
export interface OutputFiles {
  count: number;
  extension: FileExtension;
  array: boolean;
}

export interface PredictionPlan {
  id: string;
  seq: number;
  /** Origin of the public URLs, e.g. http://127.0.0.1:4010. */
  origin: string;
  input: Record<string, unknown>;
  prompt: string;
  model: string;
  version: string;
  deployment?: string;
  createdAt: number;
  bootMs: number;
  runMs: number;
  outcome: "succeed" | "fail" | "never";
  /** image: files (file stream optional); text: tokens, streamed; transcript: one text at the end, no stream. */
  kind: "image" | "text" | "transcript";
  /** Image predictions (default: one SVG, or a PNG when `input.output_format` is "png", in an array). */
  files?: OutputFiles;
  /** Transcript predictions: the text `output` holds once succeeded. */
  transcript?: string;
  /** Text predictions: at most this many tokens (the model's `max_tokens`). */
  maxTokens?: number;
  refiner: boolean;
  seed: number;
  /** Epoch ms of the Cancel-After deadline. */
  deadline: number | null;
  /** The platform's limit on a run (processing), past which it fails as timed out; default 30 minutes, null: none. */
  maxRunMs?: number | null;
  /** "web": made on replicate.com (foreign traffic); default "api". */
  source?: "api" | "web";
  /** Input, output, logs and files are removed this long after the end; null: kept (web predictions). */
  retentionMs?: number | null;
  /** An image prediction has a file stream (`urls.stream`) too. */
  imageStream?: boolean;
  /** Origin of `urls.stream` (default: origin). */
  streamOrigin?: string;
}

/** How (and when) the prediction ends, or would end if nothing else happens. */
export interface Ending {
  at: number;
  status: TerminalStatus;
  error: string | null;
  via: CanceledVia | null;
}

export class SimPrediction {
  readonly plan: PredictionPlan;
  readonly tokens: readonly string[];
  readonly passes: readonly number[];
  private readonly scheduledEnding: Ending;
  private forcedEnding: Ending | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly createdAtIso: string;
  private progressLog: ProgressLog | null = null;

  constructor(plan: PredictionPlan) {
    this.plan = plan;
    this.tokens = plan.kind === "text" ? replyTokens(plan.prompt).slice(0, plan.maxTokens ?? Infinity) : [];
    this.passes = plan.refiner ? [BASE_STEPS, REFINER_STEPS] : [BASE_STEPS];
    this.scheduledEnding = earliest(
      earliest(naturalEnding(plan, this.startsAt), deadlineEnding(plan, this.startsAt)),
      runLimitEnding(plan, this.startsAt),
    );
    this.createdAtIso = iso(plan.createdAt);
  }

  get id(): string {
    return this.plan.id;
  }

  /** When processing begins (if it is not ended before). */
  get startsAt(): number {
    return this.plan.createdAt + this.plan.bootMs;
  }

  /** The ending in force: a forced one, else the earliest of natural end and deadline (may be in the future). */
  ending(): Ending {
    return this.forcedEnding ?? this.scheduledEnding;
  }

  status(now = Date.now()): PredictionStatus {
    const ending = this.ending();
    if (ending.at <= now) return ending.status;
    return now >= this.startsAt ? "processing" : "starting";
  }

  isTerminal(now = Date.now()): boolean {
    return this.ending().at <= now;
  }

  /** Epoch ms at which the prediction reached its terminal state, null while it runs. */
  get finishedAt(): number | null {
    const { at } = this.ending();
    return at <= Date.now() ? at : null;
  }

  get canceledVia(): CanceledVia | null {
    return this.isTerminal() ? this.ending().via : null;
  }

  /** Ends the prediction now (cancel endpoint or test control). False if it had already ended. */
  finish(status: TerminalStatus, options: { error?: string | null; via?: CanceledVia; now?: number } = {}): boolean {
    const now = options.now ?? Date.now();
    if (this.isTerminal(now)) return false;
    const ended = status === "canceled" || status === "aborted";
    this.forcedEnding = {
      at: now,
      status,
      error: status === "failed" ? (options.error ?? SIMULATED_FAILURE) : null,
      via: ended ? (options.via ?? "simulator") : null,
    };
    for (const listener of [...this.listeners]) listener();
    return true;
  }

  /** Called when an outside event changes the ending; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fraction of the processing work done at `now` (0 before it starts). */
  progress(now = Date.now()): number {
    const ending = this.ending();
    if (ending.at <= now && (ending.status === "succeeded" || ending.status === "failed")) return 1;
    const until = Math.min(now, ending.at);
    if (until < this.startsAt) return 0;
    if (this.plan.runMs <= 0) return 1;
    const fraction = Math.min(1, (until - this.startsAt) / this.plan.runMs);
    // A run that never ends stalls on its last step rather than showing 100%.
    return this.plan.outcome === "never" ? Math.min(fraction, 0.99) : fraction;
  }

  /** Tokens produced by `now` (text models). */
  tokensAt(now = Date.now()): readonly string[] {
    return this.tokens.slice(0, Math.floor(this.progress(now) * this.tokens.length));
  }

  /** When token number `index` (0-based) is produced, if the run goes to its end. */
  tokenDueAt(index: number): number {
    if (index >= this.tokens.length) return Infinity;
    return this.startsAt + (this.plan.runMs * (index + 1)) / this.tokens.length;
  }

  startedAt(now = Date.now()): number | null {
    const ending = this.ending();
    const ranPastStart = ending.at >= this.startsAt && ending.status !== "aborted";
    if (now >= this.startsAt && ranPastStart) return this.startsAt;
    // Forced to a result before it started: pretend it ran instantly.
    const ranInstantly = ending.at <= now && (ending.status === "succeeded" || ending.status === "failed");
    return ranInstantly ? ending.at : null;
  }

  get files(): OutputFiles {
    return this.plan.files ?? { count: 1, extension: this.plan.input.output_format === "png" ? "png" : "svg", array: true };
  }

  /** The files' URLs: `out-{index}.{extension}` under the prediction. */
  outputFileUrls(): string[] {
    const { count, extension } = this.files;
    return Array.from({ length: count }, (_, index) => `${this.plan.origin}/files/${this.id}/out-${index}.${extension}`);
  }

  /** Files (URLs or data URLs) in the shape the model's output has: an array, or one. */
  shapeFiles(files: string[]): string | string[] {
    return this.files.array ? files : files[0];
  }

  /** Text streams on the stream path; file streams under `/v1/files/`, which is how clients tell them apart. */
  streamUrl(): string | null {
    const origin = this.plan.streamOrigin ?? this.plan.origin;
    if (this.plan.kind === "text") return `${origin}/stream/${this.id}`;
    return this.plan.kind === "image" && this.plan.imageStream ? `${origin}/v1/files/${this.id}/stream` : null;
  }

  /** True once retention removed the input, output, logs and files. */
  isDataRemoved(now = Date.now()): boolean {
    const { retentionMs } = this.plan;
    if (retentionMs === undefined || retentionMs === null) return false;
    const { at } = this.ending();
    return at <= now && now >= at + retentionMs;
  }

  toJSON(now = Date.now()): PredictionJson {
    const { plan } = this;
    const status = this.status(now);
    const terminal = this.isTerminal(now);
    const ending = this.ending();
    const startedAt = this.startedAt(now);
    const apiBase = `${plan.origin}/v1`;
    const removed = this.isDataRemoved(now);
    const stream = this.streamUrl();

    const json: PredictionJson = {
      id: plan.id,
      model: plan.model,
      version: plan.version,
      input: removed ? null : plan.input,
      logs: removed ? null : this.logs(now, status),
      output: removed ? null : this.output(now, status),
      data_removed: removed,
      error: terminal ? ending.error : null,
      status,
      created_at: this.createdAtIso,
      started_at: startedAt === null ? null : iso(startedAt),
      completed_at: terminal ? iso(ending.at) : null,
      urls: {
        web: `https://replicate.com/p/${plan.id}`,
        get: `${apiBase}/predictions/${plan.id}`,
        cancel: `${apiBase}/predictions/${plan.id}/cancel`,
        ...(stream === null ? {} : { stream }),
      },
      source: plan.source ?? "api",
    };
    if (terminal) {
      json.metrics = {
        predict_time: startedAt === null ? 0 : seconds(ending.at - startedAt),
        total_time: seconds(ending.at - plan.createdAt),
      };
    }
    if (plan.deadline !== null) json.deadline = iso(plan.deadline);
    if (plan.deployment) json.deployment = plan.deployment;
    return json;
  }

  private output(now: number, status: PredictionStatus): unknown {
    if (this.plan.kind === "text") return this.startedAt(now) === null ? null : this.tokensAt(now);
    if (status !== "succeeded") return null;
    return this.plan.kind === "transcript" ? (this.plan.transcript ?? "") : this.shapeFiles(this.outputFileUrls());
  }

  private logs(now: number, status: PredictionStatus): string {
    if (this.startedAt(now) === null) return "";
    if (this.plan.kind === "text") return `Using seed: ${this.plan.seed}\n`;
    if (this.plan.kind === "transcript") {
      const logs = `Transcribing audio\n${status === "succeeded" ? "Done\n" : ""}`;
      return status === "failed" ? logs + crashTrace(this.ending().error) : logs;
    }
    this.progressLog ??= new ProgressLog({
      seed: this.plan.seed,
      passes: this.passes,
      stepMs: this.plan.runMs / this.passes.reduce((a, b) => a + b, 0),
    });
    const logs = this.progressLog.textAt(this.progress(now) * this.progressLog.totalSteps);
    return status === "failed" ? logs + crashTrace(this.ending().error) : logs;
  }
}

function naturalEnding(plan: PredictionPlan, startsAt: number): Ending {
  if (plan.outcome === "never") return { at: Infinity, status: "canceled", error: null, via: null };
  const at = startsAt + plan.runMs;
  return plan.outcome === "fail"
    ? { at, status: "failed", error: SIMULATED_FAILURE, via: null }
    : { at, status: "succeeded", error: null, via: null };
}

/** Past its deadline a prediction is `aborted` if it never started, `canceled` if it was running. */
function deadlineEnding(plan: PredictionPlan, startsAt: number): Ending | null {
  if (plan.deadline === null) return null;
  const status = plan.deadline <= startsAt ? "aborted" : "canceled";
  return { at: plan.deadline, status, error: null, via: "deadline" };
}

/** A run past the platform's limit fails, timed out (a deadline, or the natural end, may come first). */
function runLimitEnding(plan: PredictionPlan, startsAt: number): Ending | null {
  const limit = plan.maxRunMs === undefined ? PLATFORM_RUN_LIMIT_MS : plan.maxRunMs;
  return limit === null ? null : { at: startsAt + limit, status: "failed", error: RUN_TIMED_OUT, via: null };
}

function earliest(a: Ending, b: Ending | null): Ending {
  return b !== null && b.at < a.at ? b : a;
}

function crashTrace(error: string | null): string {
  return `Traceback (most recent call last):\n  File "/src/predict.py", line 42, in predict\nRuntimeError: ${error}\n`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
