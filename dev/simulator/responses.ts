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

export type ProblemStyle = "real" | "tidy";

/**
 * A problem answer. "real" (Replicate's way): `application/problem+json`, and a 404 without `title`;
 * "tidy": `application/json` with every title.
 */
export function problemResponse(
  problem: ProblemBody,
  headers: Record<string, string> = {},
  style: ProblemStyle = "real",
): Response {
  if (style === "tidy") return jsonResponse(problem.status, { title: TIDY_TITLES[problem.status], ...problem }, headers);
  const { title, ...untitled } = problem;
  const body = problem.status === 404 ? untitled : problem;
  return jsonResponse(problem.status, body, { "content-type": "application/problem+json", ...headers });
}

const TIDY_TITLES: Record<number, string> = { 404: "Not found" };

export const NOT_FOUND: ProblemBody = {
  detail: "The requested resource could not be found",
  status: 404,
};

/** What `/models/{owner}/{name}/predictions` answers for a model that is not official. */
export const MODEL_NOT_FOUND: ProblemBody = { detail: "Not found.", status: 404 };

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

/** The two wordings of Replicate's 429 detail. */
export type ThrottleWording = "resets-in" | "expected-available";

export function throttleDetail(retryAfterSeconds: number, wording: ThrottleWording = "resets-in"): string {
  if (wording === "resets-in") return `Request was throttled. Your rate limit resets in ~${retryAfterSeconds}s.`;
  const unit = retryAfterSeconds === 1 ? "second" : "seconds";
  return `Request was throttled. Expected available in ${retryAfterSeconds} ${unit}.`;
}

export function throttledResponse(
  retryAfterSeconds: number,
  sendRetryAfterHeader = true,
  wording: ThrottleWording = "resets-in",
  style: ProblemStyle = "real",
): Response {
  const body: ProblemBody = { detail: throttleDetail(retryAfterSeconds, wording), status: 429 };
  return problemResponse(body, sendRetryAfterHeader ? { "retry-after": String(retryAfterSeconds) } : {}, style);
}
