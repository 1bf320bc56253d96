import { randomBytes } from "node:crypto";

/** Prediction ids look like Replicate's: 26 lowercase base32 characters. */

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

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
