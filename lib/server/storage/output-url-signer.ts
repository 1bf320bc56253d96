import "server-only";
// Capability tokens for the files this app serves itself (OUTPUT_STORAGE=fs): `v1.<key>.<mac>`,
// the key base64url-encoded and the MAC an HMAC-SHA256 of it, cut to 128 bits. Whoever holds a URL
// may load that one file (so `<img src>` works without the route key); nobody can make a URL for
// a key this app did not sign. The MAC key is derived with HKDF from a secret the app already has
// (REPLICATE_API_TOKEN, or OUTPUT_URL_SECRET when set) under a label of its own, so the token
// itself never leaves the server and no other use of that secret yields the same key.

import { createHmac, timingSafeEqual } from "node:crypto";
import { derivedKey } from "../derived-key";
import { isStorageKey } from "./output-store";

const VERSION = "v1";
const MAC_BYTES = 16;
const LABEL = "replicate-next-route output URL signing v1";

export function deriveSigningKey(secret: string): Buffer {
  return derivedKey(secret, LABEL);
}

export class OutputUrlSigner {
  readonly #key: Buffer;

  constructor(signingKey: Buffer) {
    this.#key = signingKey;
  }

  sign(key: string): string {
    return `${VERSION}.${Buffer.from(key).toString("base64url")}.${this.#mac(key).toString("base64url")}`;
  }

  /** The key a token was signed for, or null for anything this app never issued. */
  verify(token: string): string | null {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== VERSION) return null;
    const [, encodedKey, encodedMac] = parts;
    if (!/^[A-Za-z0-9_-]+$/.test(encodedKey) || !/^[A-Za-z0-9_-]+$/.test(encodedMac)) return null;
    const key = Buffer.from(encodedKey, "base64url").toString("utf8");
    const presented = Buffer.from(encodedMac, "base64url");
    const expected = this.#mac(key);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    // Signed keys are always storage keys; checked again so a leaked signing key cannot reach outside.
    return isStorageKey(key) ? key : null;
  }

  #mac(key: string): Buffer {
    return createHmac("sha256", this.#key).update(key).digest().subarray(0, MAC_BYTES);
  }
}
