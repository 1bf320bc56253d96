import { z } from "zod";

/**
 * What the simulator must answer: Replicate's objects in the shape its OpenAPI spec describes
 * (`schemas_prediction_response`, `schemas_paginated_prediction_response`, `schemas_file_response`,
 * RFC 7807 problems), checked against every answer the simulator gives (tests/simulator.test.ts).
 * This is the contract of the fake, not what the route reads: the route reads only the fields it
 * uses, and leniently (lib/shared/replicate-objects.ts), because real answers vary over time.
 * Unknown fields pass through (`z.looseObject`); fields real answers send as null or leave out are
 * nullable or optional (list entries have no `logs`; cancels send `logs: null`; removed data is null).
 */

export const PREDICTION_STATUSES = ["starting", "processing", "succeeded", "failed", "canceled", "aborted"] as const;
export const ReplicatePredictionStatus = z.enum(PREDICTION_STATUSES);

/** An ISO 8601 date-time as Replicate writes them (`2024-04-22T11:15:15.329Z`, nanoseconds allowed). */
const DateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/);

export const ReplicatePredictionUrls = z.looseObject({
  get: z.url(),
  cancel: z.url(),
  /** The spec requires it; answers recorded before 2024 lack it. */
  web: z.url().optional(),
  /** Present for models that stream: text streams, and file streams under `/v1/files/`. */
  stream: z.url().optional(),
});

export const ReplicatePredictionMetrics = z.looseObject({
  predict_time: z.number().nonnegative().optional(),
  total_time: z.number().nonnegative().optional(),
});

export const ReplicatePrediction = z.looseObject({
  /** 26 characters of `[a-z0-9]` today; checked loosely so an id format change is not an outage. */
  id: z.string().min(1),
  status: ReplicatePredictionStatus,
  model: z.string(),
  /** A 64-hex id, `hidden` for official models, or an internal value (`d-...`). */
  version: z.string(),
  /** null once `data_removed`. */
  input: z.record(z.string(), z.unknown()).nullable(),
  /** Any JSON: file URLs, data URLs, token arrays, text... null until there is some and once removed. */
  output: z.unknown().optional(),
  data_removed: z.boolean().optional(),
  error: z.unknown().nullable().optional(),
  /** Absent from list entries, null in cancel answers and once removed. */
  logs: z.string().nullable().optional(),
  metrics: ReplicatePredictionMetrics.nullable().optional(),
  created_at: DateTime,
  started_at: DateTime.nullable().optional(),
  completed_at: DateTime.nullable().optional(),
  deadline: DateTime.nullable().optional(),
  deployment: z.string().nullable().optional(),
  source: z.enum(["api", "web"]).optional(),
  urls: ReplicatePredictionUrls,
});
export type ReplicatePrediction = z.infer<typeof ReplicatePrediction>;

/** `GET /predictions`: newest first, `next` / `previous` full URLs with a `cursor` query. */
export const ReplicatePredictionPage = z.looseObject({
  next: z.url().nullable(),
  previous: z.url().nullable(),
  results: z.array(ReplicatePrediction),
});
export type ReplicatePredictionPage = z.infer<typeof ReplicatePredictionPage>;

export const ReplicateInvalidField = z.looseObject({
  type: z.string(),
  field: z.string(),
  description: z.string(),
});

/**
 * An error answer (RFC 7807, served as `application/problem+json`, though not always). `title` is
 * missing from real 404s and 429s; `detail` is what every recorded error carries.
 */
export const ReplicateProblem = z.looseObject({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().int().min(400).max(599),
  detail: z.string(),
  instance: z.string().optional(),
  invalid_fields: z.array(ReplicateInvalidField).optional(),
});
export type ReplicateProblem = z.infer<typeof ReplicateProblem>;

/** `POST /files` and `GET /files/{id}`: an uploaded file, usable as an input by its `urls.get`. */
export const ReplicateFile = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  content_type: z.string(),
  size: z.number().int().nonnegative(),
  etag: z.string().optional(),
  checksums: z.looseObject({ sha256: z.string().optional(), md5: z.string().optional() }),
  metadata: z.record(z.string(), z.unknown()),
  created_at: DateTime,
  expires_at: DateTime.nullable(),
  urls: z.looseObject({ get: z.url() }),
});
export type ReplicateFile = z.infer<typeof ReplicateFile>;

/** `GET /webhooks/default/secret`. */
export const ReplicateWebhookSecret = z.looseObject({ key: z.string().startsWith("whsec_") });
