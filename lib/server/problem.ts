import "server-only";
// The one error shape every route answers: Replicate's own RFC 7807 body `{title, detail, status}`.
// Handlers throw a Problem; `toResponse()` is the only place that turns one into JSON.

import type { ProblemBody } from "../shared/problem-body";

export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;
  /**
   * This failure came before any prediction could exist upstream (an upload, a slot wait, a create
   * never sent): an `Idempotency-Key` it held is free again. False says nothing either way.
   */
  readonly nothingCreated: boolean;

  constructor(
    status: number,
    title: string,
    detail: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string>; nothingCreated?: boolean } = {},
  ) {
    super(`${title}: ${detail}`);
    this.name = "Problem";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
    this.nothingCreated = options.nothingCreated ?? false;
  }

  toJSON(): ProblemBody {
    return { ...this.extra, title: this.title, detail: this.detail, status: this.status };
  }

  toResponse(): Response {
    return Response.json(this.toJSON(), { status: this.status, headers: this.headers });
  }
}

/** Any thrown value as a Problem: unknown errors become a 500 that reveals nothing internal. */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  return new Problem(500, "Internal error", "The route failed unexpectedly; the server log has no secret but has the cause.");
}
