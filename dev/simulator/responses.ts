import type { InvalidField, ProblemBody } from "./types";

/** Builders for every answer body the simulator sends, so no endpoint writes error JSON by hand. */

// The node:http adapter writes these texts directly: reading a web-stream body back costs more than
// building the answer, and the benchmark sends thousands of answers a second.
const rawBodies = new WeakMap<Response, string>();

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = JSON.stringify(body);
  const response = new Response(text, {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
  rawBodies.set(response, text);
  return response;
}

/** The body text of an answer built by `jsonResponse`, if it was (its stream is then left unread). */
export function rawBodyOf(response: Response): string | undefined {
  return rawBodies.get(response);
}

export function problemResponse(problem: ProblemBody, headers: Record<string, string> = {}): Response {
  return jsonResponse(problem.status, problem, headers);
}

export const NOT_FOUND: ProblemBody = {
  detail: "The requested resource could not be found",
  status: 404,
  title: "Not found",
};

export const UNAUTHENTICATED: ProblemBody = {
  title: "Unauthenticated",
  detail: "You did not pass a valid authentication token",
  status: 401,
};

export const INVALID_VERSION: ProblemBody = {
  title: "Invalid version or not permitted",
  detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
  status: 422,
};

export const INVALID_JSON: ProblemBody = {
  title: "Invalid JSON",
  detail: "The request body is not valid JSON",
  status: 400,
};

/** The 422 Replicate answers for a body or input that fails its JSON schema (one `- field: description` line each). */
export function validationProblem(fields: InvalidField[]): ProblemBody {
  return {
    title: "Input validation failed",
    detail: fields.map((f) => `- ${f.field}: ${f.description}\n`).join(""),
    status: 422,
    invalid_fields: fields,
  };
}

export function throttledResponse(retryAfterSeconds: number, sendRetryAfterHeader = true): Response {
  const body: ProblemBody = {
    detail: `Request was throttled. Your rate limit resets in ~${retryAfterSeconds}s.`,
    status: 429,
  };
  return jsonResponse(429, body, sendRetryAfterHeader ? { "retry-after": String(retryAfterSeconds) } : {});
}
