import "server-only";
// The one module that speaks HTTP to Replicate: one axios instance, keep-alive sockets (each new
// connection to Replicate costs a TLS handshake), one retry hook that asks each call's retry
// planner whether and when to retry. Nothing else in the project imports axios. What a call may
// retry is policy, not transport: retry-policy.ts for GET and cancel, create-policy.ts for a
// create. Errors leave this module as Problems that carry no request config (replicate-errors.ts),
// so the token can never be serialized into an answer or a log line.
//
// The token goes only to the configured base URL's origin. A call naming any other absolute URL
// (a list page's `next` link, a stream URL on another host) is sent WITHOUT the token rather than
// refused: Replicate's stream URLs on other hosts are signed and need none, and a link to a host
// we do not trust then learns nothing from us.

import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import axios, { AxiosError, type AxiosResponse, type GenericAbortSignal } from "axios";
import axiosRetry from "axios-retry";
import type { Config } from "../config";
import { redact } from "../log";
import { describeFailure, parseJson, redactToken, toReplicateProblem } from "./replicate-errors";
import { planRetry, type FailedAttempt, type RetryContext } from "./retry-policy";
import { noteUpstreamAnswer } from "../telemetry";

export const USER_AGENT = "replicate-next-route/0.1 (+https://github.com/replicate-next-route)";

export interface CallStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  /** Poll rounds this request waited through. */
  polls?: number;
  /** 429 answers among `requests`. */
  throttled?: number;
}

/** Milliseconds to wait before retrying a failed attempt, or null for no retry. */
export type RetryPlanner = (failure: FailedAttempt, context: RetryContext) => number | null | Promise<number | null>;

export interface ReplicateCall {
  method: "GET" | "POST" | "DELETE";
  /** Path below the base URL, e.g. `/predictions/abc`; a full URL is used as is (see the token rule above). */
  path: string;
  body?: unknown;
  /** A byte-stream body (a multipart upload) instead of JSON: opened afresh for each attempt, never buffered. */
  upload?: UploadBody;
  headers?: Record<string, string>;
  /** GET and cancel: retried as retry-policy.ts plans. A create is not, and is retried only as `retry` says. */
  idempotent: boolean;
  /** How failed attempts are retried; default: `planRetry` for an idempotent call, never for any other. */
  retry?: RetryPlanner;
  /** Epoch ms: no retry wait runs past it. */
  deadline: number;
  /** Aborts the call (never pass one to a create: its prediction would be lost and run on). */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Accepts the parsed JSON of a 2xx answer; anything else is a malformed answer. */
  accept?: (data: unknown) => boolean;
  /** Answer the body as a byte stream (an event stream) instead of parsed JSON. */
  stream?: boolean;
  stats?: CallStats;
  /**
   * Runs right before each attempt is sent, retries included: returns headers computed at that
   * moment (a create's hold and `Cancel-After`, which shrink as the deadline nears), or throws to
   * send nothing (the error is the call's).
   */
  beforeAttempt?: () => Record<string, string>;
  /** Runs when an attempt's answer (or failure) has come back, before any retry is planned. */
  afterAttempt?: () => void;
}

export interface UploadBody {
  contentType: string;
  /** Bytes `open()` yields: sent as Content-Length. */
  length: number;
  open: () => NodeJS.ReadableStream;
}

declare module "axios" {
  interface AxiosRequestConfig {
    deadline?: number;
    accept?: (data: unknown) => boolean;
    planRetry?: RetryPlanner;
    /** A function, not the stats object: axios deep-copies plain objects when a retry replays the config. */
    countRetry?: () => void;
    plannedRetryMs?: number;
    openBody?: () => NodeJS.ReadableStream;
    beforeAttempt?: () => Record<string, string>;
    afterAttempt?: () => void;
    /** Every attempt's answer status (undefined: no answer), for the request's counts and the metrics. */
    noteAnswer?: (status: number | undefined) => void;
  }
  interface AxiosResponse {
    /** The answer's JSON text as it came (kept to tell cheaply whether it can carry the token). */
    text?: string;
  }
}

// A crowd's sockets are kept for the next one (Node keeps 256 by default and closes the rest as each
// answer ends, in the middle of the burst of answers, and the next crowd pays a TLS handshake each):
// as many as the default in-flight cap (REPLICATE_MAX_IN_FLIGHT), until Replicate closes them idle.
const keepAlive = { keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 1024 };

const instance = axios.create({
  httpAgent: new http.Agent(keepAlive),
  httpsAgent: new https.Agent(keepAlive),
  headers: { "User-Agent": USER_AGENT, Accept: "application/json" },
  // Parse here, not in axios: an HTML page or truncated JSON with status 200 must be caught.
  responseType: "text",
  transformResponse: [(data: unknown) => data],
  maxBodyLength: Infinity,
  maxContentLength: 64 * 1024 * 1024,
  // Replicate's API does not redirect, and with none to follow axios sends on Node's own http client
  // instead of follow-redirects' wrapper, whose per-answer work showed in the crowd benchmark's CPU
  // profile. A redirect that comes all the same is a bad answer (replicate-errors.ts), not followed.
  maxRedirects: 0,
});

// Runs for every attempt, retries included (axios-retry sends the config again): a fresh stream each time.
instance.interceptors.request.use((config) => {
  if (config.beforeAttempt) config.headers.set(config.beforeAttempt());
  if (config.openBody) config.data = config.openBody();
  return config;
});

// Registered before axios-retry so that a malformed 2xx answer reaches the retry planner as an error,
// and so that every attempt (retries too) is counted.
instance.interceptors.response.use(
  (response) => {
    response.config.afterAttempt?.();
    response.config.noteAnswer?.(response.status);
    return checkedAnswer(response);
  },
  async (error: unknown) => {
    if (axios.isAxiosError(error)) {
      error.config?.afterAttempt?.();
      error.config?.noteAnswer?.(error.response?.status);
      if (error.response && isReadable(error.response.data))
        error.response.data = await errorText(error.response.data, error.request, error.config?.timeout, error.config?.signal);
    }
    throw error;
  },
);

/**
 * An error answer to a stream call, read as text: Replicate's detail (a 429's `~Ns` hint) reaches the
 * retry planner and the problem, and the answer is read to its end, so its socket goes back to the
 * pool (an unread answer holds its connection until the server times it out). At most 64 KB is kept.
 */
async function errorText(
  body: Readable,
  request: { destroy?: () => void } | undefined,
  timeoutMs?: number,
  signal?: GenericAbortSignal,
): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  // Its headers came, its body may never end (axios's own timeout and abort are done with the call):
  // read for at most the attempt's timeout (ERROR_TEXT_MAX_MS at most), until the call is aborted.
  // The request's socket too: axios's body is a wrapper that waits on it.
  const stop = () => {
    request?.destroy?.();
    body.destroy();
  };
  const timer = setTimeout(stop, Math.min(timeoutMs || ERROR_TEXT_MAX_MS, ERROR_TEXT_MAX_MS));
  signal?.addEventListener?.("abort", stop);
  if (signal?.aborted) stop();
  try {
    for await (const chunk of body) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (kept < ERROR_TEXT_MAX_BYTES) chunks.push(bytes.subarray(0, ERROR_TEXT_MAX_BYTES - kept));
      kept += bytes.length;
      if (kept >= ERROR_TEXT_MAX_BYTES) break;
    }
  } catch {
    // A cut connection: what came is all there is.
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener?.("abort", stop);
    body.destroy();
  }
  return Buffer.concat(chunks).toString("utf8");
}

const ERROR_TEXT_MAX_BYTES = 64 * 1024;
const ERROR_TEXT_MAX_MS = 10_000;

function isReadable(value: unknown): value is Readable {
  return value instanceof Readable;
}

function checkedAnswer(response: AxiosResponse): AxiosResponse {
  if (response.config.responseType === "stream") return response;
  // 204 No Content (a file's DELETE): nothing to parse.
  if (response.status === 204) return { ...response, data: null };
  const data = parseJson(response.data);
  const accept = response.config.accept ?? (() => true);
  if (data === undefined || !accept(data)) {
    throw new AxiosError("Malformed answer", "ERR_BAD_RESPONSE", response.config, response.request, response);
  }
  response.text = typeof response.data === "string" ? response.data : undefined;
  response.data = data;
  return response;
}

axiosRetry(instance, {
  // Each call's planner bounds its retries (count and deadline); axios-retry only counts them.
  retries: Infinity,
  // A GET, list or cancel: `timeoutMs` bounds the whole call, its attempts and the waits between
  // them (axios-retry's default). A create or an upload resets it per attempt (see callReplicate).
  retryCondition: async (error) => {
    const config = error.config;
    if (!config?.planRetry || axios.isCancel(error) || config.signal?.aborted) return false;
    const now = Date.now();
    // A planner may ask the shared state (a create's account-wide pacing), hence the await.
    const wait = await config.planRetry(describeFailure(error), {
      attempt: ((config["axios-retry"] as { retryCount?: number } | undefined)?.retryCount ?? 0) + 1,
      now,
      deadline: config.deadline ?? now,
    });
    if (wait === null) return false;
    config.plannedRetryMs = wait;
    return true;
  },
  retryDelay: (_count, error) => error.config?.plannedRetryMs ?? 0,
  onRetry: (_count, _error, config) => config.countRetry?.(),
});

/** Whether `url` is on the configured base URL's origin, the only one the token is sent to. */
export function isReplicateOrigin(config: Config, url: string): boolean {
  return new URL(url).origin === new URL(config.baseUrl).origin;
}

export async function callReplicate<T>(config: Config, call: ReplicateCall): Promise<{ status: number; data: T }> {
  if (call.stats) call.stats.requests += 1;
  const url = /^https?:\/\//i.test(call.path) ? call.path : `${config.baseUrl}${call.path}`;
  try {
    const response: AxiosResponse<T> = await instance.request<T>({
      method: call.method,
      url,
      // Bytes, not text: axios would keep the text and send a byte copy of it (one more copy of an image).
      data: call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body)),
      headers: {
        ...call.headers,
        ...(isReplicateOrigin(config, url) ? { Authorization: `Bearer ${config.token}` } : {}),
        ...(call.body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(call.upload ? { "Content-Type": call.upload.contentType, "Content-Length": String(call.upload.length) } : {}),
      },
      ...(call.upload ? { openBody: call.upload.open } : {}),
      ...(call.stream ? { responseType: "stream" as const } : {}),
      signal: call.signal,
      timeout: call.timeoutMs ?? 30_000,
      // Each attempt of a create or an upload has its whole `timeoutMs`: its retries wait out the
      // account's pacing (a create paced 40 s away after a 429), bounded by its deadline, and taking
      // the wait out of the timeout gave it up with the 429 before its slot, or sent it with a few
      // seconds left to hold.
      ...(call.idempotent ? {} : { "axios-retry": { shouldResetTimeout: true } }),
      deadline: call.deadline,
      accept: call.accept,
      planRetry: call.retry ?? (call.idempotent ? planRetry : undefined),
      countRetry: call.stats ? () => countRetry(call.stats!) : undefined,
      beforeAttempt: call.beforeAttempt,
      afterAttempt: call.afterAttempt,
      noteAnswer: (status) => noteAnswer(config, call, url, status),
    });
    // Answers are passed on to clients: an upstream echoing the token must not hand it over.
    const untouched = call.stream || !mayCarry(response.text, config.token);
    const data = untouched ? response.data : redactToken(response.data, config.token);
    // Nothing redacted: the text says exactly what the object does.
    if (data === response.data) keepSentText(data, response.text);
    return { status: response.status, data };
  } catch (error) {
    throw toReplicateProblem(error, config.token);
  }
}

/**
 * The JSON text each answer was parsed from, while its object lives: an answer passed on untouched
 * is then answered with Replicate's own bytes (`sentText`), not serialized again (about 40 µs of a
 * crowd's answer). Only texts under 64 KB: a prediction is a few KB, and keeping a large one (a held
 * answer with data URLs) beside its object would double it for as long as the object lives. Never a
 * redacted answer's (that is another object). Answers are never changed once parsed: whatever
 * differs (a copy without output, kept outputs, an error added) is a new object, without a text.
 */
const sentTexts = new WeakMap<object, string>();
const SENT_TEXT_MAX_CHARS = 64 * 1024;

function keepSentText(data: unknown, text: string | undefined): void {
  if (text !== undefined && text.length <= SENT_TEXT_MAX_CHARS && typeof data === "object" && data !== null)
    sentTexts.set(data, text);
}

/** The text Replicate sent for `value`, when `value` is an answer exactly as it was parsed from it. */
export function sentText(value: unknown): string | undefined {
  return typeof value === "object" && value !== null ? sentTexts.get(value) : undefined;
}

/**
 * Whether a JSON text can hold the token once parsed, in any form `redact` knows (as written, any
 * case, percent-encoded, JSON-escaped, base64), or an escape that could hide one from a look at
 * the text (`\/` inside base64, a `\u` escape inside any other form: a percent-encoded token with
 * each `%` written `\u0025`): checked on the text once. Most answers hold none, and are passed on
 * without a walk through every field (a copy of the whole answer, per answer of a crowd of waits).
 */
function mayCarry(text: string | undefined, token: string): boolean {
  return text === undefined || text.includes("\\/") || text.includes("\\u") || redact(text, [token]) !== text;
}

function countRetry(stats: CallStats): void {
  stats.retries += 1;
  stats.requests += 1;
}

function noteAnswer(config: Config, call: ReplicateCall, url: string, status: number | undefined): void {
  if (status === 429 && call.stats) call.stats.throttled = (call.stats.throttled ?? 0) + 1;
  noteUpstreamAnswer(call.method, url, config.baseUrl, status);
}
