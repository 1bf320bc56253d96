/**
 * The route's access key (the server's ROUTE_API_KEY), as the person typed it. It lives in this
 * tab's session storage only: never in the page's source, gone when the tab closes.
 */
import type { RouteAnswer } from "./route-answer";

export const ACCESS_KEY_STORAGE_KEY = "replicate-route-key";

export type KeyStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export function readAccessKey(storage: KeyStorage | null): string | null {
  try {
    return storage?.getItem(ACCESS_KEY_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

/** False when the browser refuses storage (some private modes): the key then lasts until a reload. */
export function saveAccessKey(storage: KeyStorage | null, key: string): boolean {
  try {
    storage?.setItem(ACCESS_KEY_STORAGE_KEY, key.trim());
    return storage !== null;
  } catch {
    return false;
  }
}

export function forgetAccessKey(storage: KeyStorage | null): void {
  try {
    storage?.removeItem(ACCESS_KEY_STORAGE_KEY);
  } catch {
    // nothing stored, nothing to forget
  }
}

export function authorizationHeaders(key: string | null): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * The route's own access check refused the call: 401 with `WWW-Authenticate: Bearer`. Replicate
 * refusing the server's token is passed on as a 401 too, but without that header: a key typed
 * here could not help it, so the page does not ask for one then.
 */
export function isAccessKeyChallenge(answer: RouteAnswer): boolean {
  return answer.httpStatus === 401 && /^\s*Bearer\b/i.test(answer.headers?.get("www-authenticate") ?? "");
}
