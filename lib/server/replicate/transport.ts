import "server-only";
import http from "node:http";
import https from "node:https";
import axios, { AxiosError, type AxiosResponse } from "axios";
import axiosRetry from "axios-retry";
import type { Config } from "@/lib/server/config";
import { Problem } from "@/lib/server/problem";
import { createSseParser, type SseEvent } from "@/lib/shared/sse";
import { planRetry, type FailedAttempt } from "@/lib/server/replicate/retry-policy";

/**
 * The one module that speaks HTTP to Replicate: one axios instance, keep-alive sockets (each new
 * connection to Replicate costs a TLS handshake), the retry policy attached once. Nothing else in
 * the project imports axios. Errors leave this module as Problems that carry no request config,
 * so the token can never be serialized into an answer or a log line.
 */
export const USER_AGENT = "replicate-next-route/0.1 (+https://github.com/replicate-next-route)";

export interface CallStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  /** Poll rounds this request waited through. */
  polls?: number;
}

export interface ReplicateCall {
  method: "GET" | "POST";
  /** Path below the base URL, e.g. `/predictions/abc`; a full URL is used as is. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** GET and cancel: retried after network errors, 429 and 5xx. A create: after 429 only. */
  idempotent: boolean;
  /** Epoch ms: no retry wait runs past it. */
  deadline: number;
  /** Aborts the call (never pass one to a create: its prediction would be lost and run on). */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Accepts the parsed JSON of a 2xx answer; anything else is a malformed answer. */
  accept?: (data: unknown) => boolean;
  stats?: CallStats;
  /** Retries at most (default 5). A create retries 429s as long as the deadline allows. */
  retries?: number;
  /**
   * Told the planned wait of a retry after a 429, answers the wait to use instead (a create takes
   * the next free slot of its account's pacing).
   */
  onThrottled?: (plannedMs: number) => number;
}

declare module "axios" {
  interface AxiosRequestConfig {
    idempotent?: boolean;
    deadline?: number;
    accept?: (data: unknown) => boolean;
    /** A function, not the stats object: axios deep-copies plain objects when a retry replays the config. */
    countRetry?: () => void;
    onThrottled?: (plannedMs: number) => number;
    plannedRetryMs?: number;
  }
}

const keepAlive = { keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 256 };

const instance = axios.create({
  httpAgent: new http.Agent(keepAlive),
  httpsAgent: new https.Agent(keepAlive),
  headers: { "User-Agent": USER_AGENT, Accept: "application/json" },
  // Parse here, not in axios: an HTML page or truncated JSON with status 200 must be caught.
  responseType: "text",
  transformResponse: [(data: unknown) => data],
  maxBodyLength: Infinity,
  maxContentLength: 64 * 1024 * 1024,
});

// Registered before axios-retry so that a malformed 2xx answer reaches the retry policy as an error.
instance.interceptors.response.use((response) => {
  const data = parseJson(response.data);
  const accept = response.config.accept ?? (() => true);
  if (data === undefined || !accept(data)) {
    throw new AxiosError("Malformed answer", "ERR_BAD_RESPONSE", response.config, response.request, response);
  }
  response.data = data;
  return response;
});

/** Retries of a GET or cancel; a create's 429 retries are bounded by its deadline instead. */
const DEFAULT_RETRIES = 5;

axiosRetry(instance, {
  retries: DEFAULT_RETRIES,
  retryCondition: (error) => {
    const config = error.config;
    if (!config || axios.isCancel(error) || config.signal?.aborted) return false;
    const failure = describeFailure(error);
    const now = Date.now();
    const deadline = config.deadline ?? now;
    let wait = planRetry(failure, {
      idempotent: config.idempotent === true,
      attempt: ((config["axios-retry"] as { retryCount?: number } | undefined)?.retryCount ?? 0) + 1,
      now,
      deadline,
    });
    if (wait !== null && failure.status === 429 && config.onThrottled) wait = config.onThrottled(wait);
    if (wait === null || now + wait > deadline) return false;
    config.plannedRetryMs = wait;
    return true;
  },
  retryDelay: (_count, error) => error.config?.plannedRetryMs ?? 0,
  onRetry: (_count, _error, config) => config.countRetry?.(),
});

export async function callReplicate<T>(config: Config, call: ReplicateCall): Promise<{ status: number; data: T }> {
  if (call.stats) call.stats.requests += 1;
  try {
    const response: AxiosResponse<T> = await instance.request<T>({
      method: call.method,
      url: /^https?:\/\//.test(call.path) ? call.path : `${config.baseUrl}${call.path}`,
      // Bytes, not text: axios would keep the text and send a byte copy of it (one more copy of an image).
      data: call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body)),
      headers: {
        ...call.headers,
        Authorization: `Bearer ${config.token}`,
        ...(call.body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      signal: call.signal,
      timeout: call.timeoutMs ?? 30_000,
      idempotent: call.idempotent,
      deadline: call.deadline,
      accept: call.accept,
      countRetry: call.stats ? () => countRetry(call.stats!) : undefined,
      onThrottled: call.onThrottled,
      "axios-retry": { retries: call.retries ?? DEFAULT_RETRIES },
    });
    return { status: response.status, data: response.data };
  } catch (error) {
    throw toReplicateProblem(error);
  }
}

/**
 * The events of one of Replicate's Server-Sent Event streams (`urls.stream`: tokens as the model
 * makes them). The token goes only to Replicate's API origin; stream URLs elsewhere are signed.
 */
export async function* replicateEvents(config: Config, url: string, signal: AbortSignal): AsyncGenerator<SseEvent> {
  const sameOrigin = new URL(url).origin === new URL(config.baseUrl).origin;
  let response: AxiosResponse<NodeJS.ReadableStream>;
  try {
    response = await instance.get<NodeJS.ReadableStream>(url, {
      responseType: "stream",
      signal,
      timeout: 30_000,
      headers: { Accept: "text/event-stream", ...(sameOrigin ? { Authorization: `Bearer ${config.token}` } : {}) },
      idempotent: true,
      deadline: Date.now() + 5_000,
    });
  } catch (error) {
    throw toReplicateProblem(error);
  }
  const queue: SseEvent[] = [];
  const parser = createSseParser((event) => queue.push(event));
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.data) {
      parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
    }
  } catch (error) {
    throw toReplicateProblem(error);
  }
}

function countRetry(stats: CallStats): void {
  stats.retries += 1;
  stats.requests += 1;
}

/** The call was aborted by its own signal (the client went away or the cap was reached). */
export class CallAborted extends Error {
  constructor() {
    super("The call to Replicate was aborted");
    this.name = "CallAborted";
  }
}

function describeFailure(error: AxiosError): FailedAttempt {
  const response = error.response;
  if (!response) return {};
  if (response.status >= 200 && response.status < 300) return { malformed: true };
  const body = parseJson(response.data);
  return {
    status: response.status,
    retryAfterHeader: response.headers["retry-after"] as string | undefined,
    detail: isObject(body) ? body.detail : undefined,
  };
}

/** Turn an axios failure into what the route answers, without ever touching `error.config`. */
function toReplicateProblem(error: unknown): Error {
  if (axios.isCancel(error)) return new CallAborted();
  if (!(error instanceof AxiosError)) return error instanceof Error ? error : new Error(String(error));
  const response = error.response;
  if (!response) {
    const reason = error.code === "ECONNABORTED" || error.code === "ETIMEDOUT" ? "timed out" : `failed (${error.code ?? "network error"})`;
    return new Problem(502, "Replicate unreachable", `The connection to Replicate ${reason}.`);
  }
  if (response.status >= 200 && response.status < 300) {
    return new Problem(502, "Bad answer from Replicate", `Replicate answered ${response.status} with a body that is not the expected JSON.`);
  }
  return passOnReplicateError(response);
}

/** Replicate's own error body and status, as the seed passed them on, completed to `{title, detail, status}`. */
function passOnReplicateError(response: AxiosResponse): Problem {
  const body = parseJson(response.data);
  const fields = isObject(body) ? body : {};
  const { title, detail, status: _status, ...extra } = fields;
  const retryAfter = response.headers["retry-after"];
  return new Problem(
    response.status,
    typeof title === "string" ? title : (http.STATUS_CODES[response.status] ?? "Replicate error"),
    typeof detail === "string" ? detail : `Replicate answered ${response.status}.`,
    { extra, headers: typeof retryAfter === "string" ? { "Retry-After": retryAfter } : undefined },
  );
}

function parseJson(data: unknown): unknown {
  if (typeof data !== "string") return data;
  if (data === "") return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
