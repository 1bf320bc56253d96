import "server-only";
// Keys this app signs with, each derived from a secret it already has (the Replicate token, or an
// override variable) for one purpose: HKDF-SHA256, so the secret itself never signs anything a
// client sees, and a key for one purpose says nothing about another's.
import { hkdfSync } from "node:crypto";

export function derivedKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), purpose, 32));
}
