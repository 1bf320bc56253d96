import { jsonResponse, problemResponse, type ProblemStyle } from "./responses";
import type { SimPrediction } from "./sim-prediction";

/**
 * `GET /predictions`: every prediction of the account (this app's, other apps', the website's),
 * newest first, 100 a page, `next` an absolute URL with an opaque cursor (the sequence number the
 * next page starts below, so new predictions never shift a page). Entries carry no `logs` by default,
 * as the real list's do not.
 */

export interface ListOptions {
  omitLogs: boolean;
  problemStyle: ProblemStyle;
}

const PAGE_SIZE = 100;

/** `createdInOrder`: every prediction, oldest first. */
export function listPredictionsPage(
  createdInOrder: readonly SimPrediction[],
  query: URLSearchParams,
  origin: string,
  options: ListOptions = { omitLogs: true, problemStyle: "real" },
): Response {
  const createdAfter = parseQueryTime(query.get("created_after"), -Infinity);
  const createdBefore = parseQueryTime(query.get("created_before"), Infinity);
  const below = parseCursor(query.get("cursor"));
  if (Number.isNaN(createdAfter) || Number.isNaN(createdBefore) || Number.isNaN(below)) {
    return problemResponse(
      {
        title: "Invalid query",
        detail: "created_after and created_before must be ISO 8601 date-times; cursor must come from `next`",
        status: 400,
      },
      {},
      options.problemStyle,
    );
  }
  const source = query.get("source");

  const results: SimPrediction[] = [];
  let hasMore = false;
  for (let i = createdInOrder.length - 1; i >= 0; i--) {
    const { plan } = createdInOrder[i];
    if (plan.seq >= below || plan.createdAt < createdAfter || plan.createdAt >= createdBefore) continue;
    if (source !== null && (plan.source ?? "api") !== source) continue;
    if (results.length === PAGE_SIZE) {
      hasMore = true;
      break;
    }
    results.push(createdInOrder[i]);
  }

  let next: string | null = null;
  if (hasMore) {
    const nextUrl = new URL(`${origin}/v1/predictions`);
    query.forEach((value, key) => {
      if (key !== "cursor") nextUrl.searchParams.set(key, value);
    });
    nextUrl.searchParams.set("cursor", encodeCursor(results[results.length - 1].plan.seq));
    next = nextUrl.toString();
  }
  const now = Date.now();
  const entry = (prediction: SimPrediction) => {
    const json = prediction.toJSON(now);
    if (options.omitLogs) delete json.logs;
    return json;
  };
  return jsonResponse(200, { next, previous: null, results: results.map(entry) });
}

/** Epoch ms of a date-time query parameter, `absent` when missing, NaN when malformed. */
function parseQueryTime(value: string | null, absent: number): number {
  return value === null ? absent : Date.parse(value);
}

function encodeCursor(seq: number): string {
  return Buffer.from(`s=${seq}`).toString("base64url");
}

/** The sequence number a page starts below: Infinity for the first page, NaN when malformed. */
function parseCursor(cursor: string | null): number {
  if (cursor === null) return Infinity;
  const match = /^s=(\d+)$/.exec(Buffer.from(cursor, "base64url").toString());
  return match ? Number(match[1]) : NaN;
}
