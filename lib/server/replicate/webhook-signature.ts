import "server-only";
// Verifies a Replicate webhook (Standard Webhooks signing) against the raw request text,
// before anything parses it as JSON. The headers alone are checked first (checkWebhookHeaders),
// before the body is read: an unsigned or stale delivery costs no body read.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface WebhookHeaders {
  /** `webhook-id` header. */
  id: string | null;
  /** `webhook-timestamp` header (Unix seconds). */
  timestamp: string | null;
  /** `webhook-signature` header: space-separated `v1,<base64>` entries. */
  signature: string | null;
  nowSeconds?: number;
  /** How far the timestamp may be from now, either way; defaults to 5 minutes. */
  toleranceSeconds?: number;
}

export interface WebhookSignatureArgs extends WebhookHeaders {
  /** The request body exactly as received. */
  rawBody: string;
  /** `whsec_<base64>` from GET /webhooks/default/secret (the prefix is optional). */
  secret: string;
}

export type WebhookSignatureResult = { ok: true } | { ok: false; reason: string };

const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = "whsec_";

// Ids Replicate sends are `msg_` and a few dozen characters; a header of kilobytes is not one.
const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;
const MAX_SIGNATURE_HEADER_CHARS = 4096;

/** The three headers present, well-formed, and the timestamp within the tolerance. */
export function checkWebhookHeaders(args: WebhookHeaders): WebhookSignatureResult {
  const { id, timestamp, signature } = args;
  if (!id) return fail("The webhook-id header is missing.");
  if (!timestamp) return fail("The webhook-timestamp header is missing.");
  if (!signature) return fail("The webhook-signature header is missing.");
  if (!WEBHOOK_ID.test(id)) return fail("The webhook-id header is not an id (1 to 256 visible characters).");

  if (!/^\d{1,15}$/.test(timestamp)) return fail("The webhook-timestamp header is not a Unix time in seconds.");
  // The tolerance bounds replays: a captured request stops verifying once it is this old.
  const skew = Number(timestamp) - (args.nowSeconds ?? Math.floor(Date.now() / 1000));
  const tolerance = args.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (skew < -tolerance) return fail("The webhook timestamp is too old.");
  if (skew > tolerance) return fail("The webhook timestamp is in the future.");

  if (signature.length > MAX_SIGNATURE_HEADER_CHARS || v1Signatures(signature).length === 0) {
    return fail("The webhook-signature header has no v1 signature.");
  }
  return { ok: true };
}

export function verifyWebhookSignature(args: WebhookSignatureArgs): WebhookSignatureResult {
  const headers = checkWebhookHeaders(args);
  if (!headers.ok) return headers;
  const { id, timestamp, rawBody } = args;

  const key = decodeSecret(args.secret);
  if (key.length === 0) return fail("The webhook secret is empty or not base64.");

  const candidates = v1Signatures(args.signature!);

  const expected = Buffer.from(createHmac("sha256", key).update(`${id}.${timestamp}.${rawBody}`).digest("base64"));
  // The lengths are public (a SHA-256 digest is always 44 base64 characters); only the
  // content comparison must take constant time.
  const matches = candidates.some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true } : fail("The webhook signature does not match.");
}

function decodeSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, "base64");
}

function v1Signatures(header: string): string[] {
  return header
    .split(" ")
    .filter((entry) => /^v1,[A-Za-z0-9+/]+={0,2}$/.test(entry))
    .map((entry) => entry.slice("v1,".length));
}

function fail(reason: string): WebhookSignatureResult {
  return { ok: false, reason };
}
