import "server-only";
// A prediction's handle: the one path segment (`/api/ai/replicate/{handle}`) by which its caller
// follows or cancels it. It carries Replicate's id and a proof that this app started it for that
// caller: `{id}.{mac}`, the mac an HMAC-SHA256 of the id and the caller's identity, keyed with a
// key derived from a secret the app already has (the Replicate token, or PREDICTION_HANDLE_SECRET
// when set). No store is needed, so a handle holds on any instance and after any restart; the
// cost is that rotating the secret retires the handles made with it.
//
// A handle that does not verify, a bare Replicate id, or another caller's handle are all the
// same `404`: a stranger learns nothing, not even that the prediction exists.

import { createHmac, timingSafeEqual } from "node:crypto";
import type { Config } from "../config";
import { derivedKey } from "../derived-key";
import type { Caller } from "../guard/access";
import { invalidFieldsProblem } from "../validation";
import { Problem } from "../problem";

const ID = "[a-z0-9]{8,64}";
const MAC_BYTES = 16;
const HANDLE = new RegExp(`^(${ID})\\.([A-Za-z0-9_-]{${Math.ceil((MAC_BYTES * 4) / 3)}})$`);
const PURPOSE = "replicate-next-route/prediction-handle/v1";

/** The key for handles, derived so that the secret itself never signs anything visible. */
export function handleKey(secret: string): Buffer {
  return derivedKey(secret, PURPOSE);
}

/** The engine's handle key, derived once. */
export function handleKeyOf(config: Config): Buffer {
  return (config.engine.handleKey ??= handleKey(config.handleSecret));
}

/** Where a caller follows its prediction: the `Location` of the `202`. */
export function predictionLocation(config: Config, id: string, caller: Caller | undefined): string {
  return `/api/ai/replicate/${toHandle(handleKeyOf(config), id, caller)}`;
}

/** Who a handle is scoped to: the caller's identity, or anyone who holds it when callers are anonymous. */
function scopeOf(caller: Caller | undefined): string {
  return caller?.identity ?? "";
}

function macOf(key: Buffer, id: string, caller: Caller | undefined): Buffer {
  return createHmac("sha256", key)
    .update(`${id}\n${scopeOf(caller)}`)
    .digest()
    .subarray(0, MAC_BYTES);
}

export function toHandle(key: Buffer, id: string, caller: Caller | undefined): string {
  return `${id}.${macOf(key, id, caller).toString("base64url")}`;
}

/** The prediction id a client's handle names, once it is proven to be this caller's; else a problem. */
export function parseHandle(key: Buffer, handle: string, caller: Caller | undefined): string {
  const match = HANDLE.exec(handle);
  if (!match) {
    // Not even a handle's shape (or a bare id): nothing to look up.
    if (!new RegExp(`^${ID}$`).test(handle)) {
      throw invalidFieldsProblem(
        "Invalid prediction handle",
        "A prediction handle is the last segment of the Location this route answered.",
        [{ field: "id", description: "is not a prediction handle" }],
      );
    }
    throw notFound();
  }
  const [, id, mac] = match;
  const presented = Buffer.from(mac, "base64url");
  const expected = macOf(key, id, caller);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw notFound();
  return id;
}

function notFound(): Problem {
  return new Problem(
    404,
    "Prediction not found",
    "No prediction of yours has this handle: use the Location this route answered when it was created.",
  );
}
