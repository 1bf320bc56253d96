import "server-only";
import http from "node:http";
import { AxiosError, isCancel, type AxiosResponse } from "axios";
import { redact } from "../log";
import { Problem } from "../problem";
import type { FailedAttempt } from "./retry-policy";

/**
 * What a failed call to Replicate becomes: a Problem the route answers (Replicate's own status and
 * error body, completed to `{title, detail, status}`), a 502 when no usable answer came, or
 * CallAborted when the call's own signal ended it. Nothing here reads `error.config` (it holds the
 * token), and everything passed on from an upstream body is redacted first: an upstream that
 * echoes the request's headers must not put the token into a client's answer or a log line.
 */

/** The call was aborted by its own signal (the client went away or the cap was reached). */
export class CallAborted extends Error {
  constructor() {
    super("The call to Replicate was aborted");
    this.name = "CallAborted";
  }
}

/** `value` with every `Bearer <token>` and every other occurrence of the token redacted, in strings and keys at any depth. */
export function redactToken<T>(value: T, token: string): T {
  if (!token) return value;
  const scrub = (text: string) => redact(text, [`Bearer ${token}`, token]);
  // The same value back where nothing in it changed: an answer with no token in it is still the
  // answer as parsed (and can be passed on as Replicate's own bytes, transport.ts).
  const walk = (item: unknown): unknown => {
    if (typeof item === "string") return scrub(item);
    if (Array.isArray(item)) {
      const walked = item.map(walk);
      return walked.some((field, i) => field !== item[i]) ? walked : item;
    }
    if (isObject(item)) {
      const entries = Object.entries(item);
      const walked = entries.map(([key, field]) => [scrub(key), walk(field)] as const);
      return walked.some(([key, field], i) => key !== entries[i][0] || field !== entries[i][1])
        ? Object.fromEntries(walked)
        : item;
    }
    return item;
  };
  return walk(value) as T;
}

/** The failure as the retry policy reads it: status, Retry-After, Replicate's detail (its `~Ns` hint). */
export function describeFailure(error: AxiosError): FailedAttempt {
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
export function toReplicateProblem(error: unknown, token: string): Error {
  if (isCancel(error)) return new CallAborted();
  if (!(error instanceof AxiosError)) return error instanceof Error ? error : new Error(String(error));
  const response = error.response;
  if (!response) {
    const reason =
      error.code === "ECONNABORTED" || error.code === "ETIMEDOUT" ? "timed out" : `failed (${error.code ?? "network error"})`;
    return new Problem(502, "Replicate unreachable", `The connection to Replicate ${reason}.`);
  }
  if (response.status >= 200 && response.status < 300) {
    return new Problem(
      502,
      "Bad answer from Replicate",
      `Replicate answered ${response.status} with a body that is not the expected JSON.`,
    );
  }
  // Never followed (transport.ts): passed on, it would tell the route's own caller to go elsewhere.
  if (response.status >= 300 && response.status < 400) {
    return new Problem(
      502,
      "Bad answer from Replicate",
      `Replicate answered ${response.status}, a redirect its API does not send.`,
    );
  }
  return passOnReplicateError(response, token);
}

/** Replicate's own error body and status, as the seed passed them on, completed to `{title, detail, status}` and redacted. */
export function passOnReplicateError(response: AxiosResponse, token: string): Problem {
  const body = redactToken(parseJson(response.data), token);
  const fields = isObject(body) ? body : {};
  const { title, detail, status: _status, ...extra } = fields;
  const retryAfter = response.headers["retry-after"];
  return new Problem(
    response.status,
    typeof title === "string" ? title : (http.STATUS_CODES[response.status] ?? "Replicate error"),
    typeof detail === "string" ? detail : `Replicate answered ${response.status}.`,
    { extra, headers: typeof retryAfter === "string" ? { "Retry-After": redactToken(retryAfter, token) } : undefined },
  );
}

/** JSON text as a value; undefined for an empty or unparsable body. */
export function parseJson(data: unknown): unknown {
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
