import { randomBytes } from "node:crypto";

/**
 * Prediction ids look like Replicate's today (e.g. `hdwst0bb05rgp0cf0p29mzk2am`): 26 characters of
 * lowercase Crockford base32, digits 0-9 included (no i, l, o, u). Older ids used a-z2-7.
 */

/** Version id the simulator reports for models it does not know the version of (the seed's image model's too). */
export const SIMULATED_VERSION_ID = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";

const BASE32 = "0123456789abcdefghjkmnpqrstvwxyz";

export function newPredictionId(): string {
  // 256 is a multiple of 32, so `byte % 32` is uniform.
  return Array.from(randomBytes(26), (byte) => BASE32[byte % 32]).join("");
}

/** A stable seed for a prediction whose input gave none (FNV-1a of its id). */
export function seedFromId(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % 100_000;
}
