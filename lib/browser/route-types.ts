/**
 * What the page sends to and reads from `POST /api/ai/replicate` and `/api/ai/replicate/{id}`,
 * beyond the shared prediction and problem types. Types only come from the route's schema
 * (`import type`), so no server module reaches the browser bundle.
 */
import type { z } from "zod";
import type { requestBodySchema } from "@/app/api/ai/replicate/schema";
import type { Progress } from "@/lib/shared/progress";

export type { Progress };

/**
 * The SSE events before `done`, with their `data` already parsed, and `attached`: the page began
 * following the prediction again (a new stream or polling), whose first `logs` is the whole log.
 */
export type RunEvent =
  | { type: "attached"; handle: string }
  /** `createdAt`: the prediction's `created_at`, when the answer carried it (the create's does). */
  | { type: "status"; id: string; status: string; createdAt?: string }
  | { type: "progress"; progress: Progress }
  | { type: "logs"; text: string }
  | { type: "output"; output: unknown };

/**
 * What the page posts: the route's own body type, derived from its schema, so a new field in
 * `schema.ts` needs no edit here. A field may also be sent as typed text (a seed of "12abc") for
 * the route, the one validator, to name the problem. A file field may hold the picked file itself
 * (a Blob): the body then goes as multipart/form-data, the file as a file part.
 */
export type RunRequestBody = { [K in keyof RouteBody]: RouteBody[K] | string | Blob };
type RouteBody = z.input<typeof requestBodySchema>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
