import "server-only";
// Verifies a Replicate webhook (Standard Webhooks signing) against the raw request text,
// before anything parses it as JSON.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface WebhookSignatureArgs {
  /** `webhook-id` header. */
  id: string | null;
  /** `webhook-timestamp` header (Unix seconds). */
  timestamp: string | null;
  /** `webhook-signature` header: space-separated `v1,<base64>` entries. */
  signature: string | null;
  /** The request body exactly as received. */
  rawBody: string;
  /** `whsec_<base64>` from GET /webhooks/default/secret (the prefix is optional). */
  secret: string;
  nowSeconds?: number;
  /** How far the timestamp may be from now, either way; defaults to 5 minutes. */
  toleranceSeconds?: number;
}

export type WebhookSignatureResult = { ok: true } | { ok: false; reason: string };

const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = "whsec_";

export function verifyWebhookSignature(args: WebhookSignatureArgs): WebhookSignatureResult {
  const { id, timestamp, signature, rawBody } = args;
  if (!id) return fail("The webhook-id header is missing.");
  if (!timestamp) return fail("The webhook-timestamp header is missing.");
  if (!signature) return fail("The webhook-signature header is missing.");

  if (!/^\d{1,15}$/.test(timestamp)) return fail("The webhook-timestamp header is not a Unix time in seconds.");
  // The tolerance bounds replays: a captured request stops verifying once it is this old.
  const skew = Number(timestamp) - (args.nowSeconds ?? Math.floor(Date.now() / 1000));
  const tolerance = args.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (skew < -tolerance) return fail("The webhook timestamp is too old.");
  if (skew > tolerance) return fail("The webhook timestamp is in the future.");

  const key = decodeSecret(args.secret);
  if (key.length === 0) return fail("The webhook secret is empty or not base64.");

  const candidates = v1Signatures(signature);
  if (candidates.length === 0) return fail("The webhook-signature header has no v1 signature.");

  const expected = Buffer.from(
    createHmac("sha256", key).update(`${id}.${timestamp}.${rawBody}`).digest("base64"),
  );
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
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => entry.slice("v1,".length));
}

function fail(reason: string): WebhookSignatureResult {
  return { ok: false, reason };
}
