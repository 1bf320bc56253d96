/**
 * Replicate's error shape (RFC 9457 problem details), which every route of this app answers too:
 * the server builds it (lib/server/problem.ts), the page reads it.
 */

export type InvalidField = { field: string; description: string };

export interface ProblemBody {
  title: string;
  detail: string;
  status: number;
  /** On a `400`: each field of the request body that failed the schema. */
  invalid_fields?: InvalidField[];
  [extra: string]: unknown;
}

/** A JSON value that reads as a problem: a numeric status (a proxy's or an old route's may lack title or detail). */
export function isProblemBody(value: unknown): value is Partial<ProblemBody> & { status: number } {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { status?: unknown }).status === "number"
  );
}
