import "server-only";
// THE access check: the one place that decides who the caller is, run first on every route that
// reaches Replicate (not the webhook route: its signature is its check).
//
// 1. A browser request from another site is refused (403), whatever it carries, so a session
//    cookie can never be ridden cross-site. Browsers say where a request comes from in headers a
//    page cannot forge (`Sec-Fetch-Site`, `Origin`); curl and servers send neither and pass.
// 2. Who the caller is. Built in: with ROUTE_API_KEY set, `Authorization: Bearer <key>` (401
//    otherwise). To use your app's own sessions instead, replace `authenticate` below, e.g.:
//
//      import { auth } from "@/auth";                         // NextAuth / Auth.js
//      async function authenticate(_request: Request, _config: GuardConfig): Promise<Caller> {
//        const session = await auth();
//        if (!session?.user?.id) throw unauthorized("Sign in to run the model.");
//        return { identity: `user:${session.user.id}` };
//      }
//
//    The identity is what the rate limit counts per client, and handlers see it as `context.caller`.

import { createHash, timingSafeEqual } from "node:crypto";
import type { GuardConfig } from "../config";
import { Problem } from "../problem";
import { logWarning } from "../log";

export interface Caller {
  /** Who is calling, once authenticated ("api-key", "user:42"); null for an anonymous caller. */
  identity: string | null;
}

/** `onOpen` is called when no key is set (the engine logs it once). */
export async function identifyCaller(request: Request, config: GuardConfig, onOpen: () => void = () => {}): Promise<Caller> {
  refuseCrossSite(request.headers, config.appOrigins, requestScheme(request));
  return authenticate(request, config, onOpen);
}

async function authenticate(request: Request, config: GuardConfig, onOpen: () => void): Promise<Caller> {
  if (config.apiKey === undefined) {
    onOpen();
    return { identity: null };
  }
  const presented = bearerToken(request.headers.get("authorization"));
  if (presented === null) throw unauthorized("This route needs `Authorization: Bearer <key>` (ROUTE_API_KEY).");
  if (!keyMatches(presented, config.apiKey))
    throw unauthorized("The key sent in `Authorization: Bearer` is not the route's key.");
  // One shared key cannot tell its holders apart: they are one client to the rate limit.
  return { identity: "api-key" };
}

export function unauthorized(detail: string): Problem {
  return new Problem(401, "Unauthorized", detail, { headers: { "WWW-Authenticate": 'Bearer realm="replicate-route"' } });
}

function bearerToken(header: string | null): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match ? match[1] : null;
}

/**
 * Constant time in the key's content and in its length: both sides are hashed to 32 bytes first,
 * so neither an early mismatch nor a length difference shows in the time taken.
 */
export function keyMatches(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

// ---- cross-site requests -----------------------------------------------------------------------

/**
 * `Sec-Fetch-Site: same-origin` (or `none`: typed in the address bar) is a browser telling us the
 * page is ours. `cross-site` and `same-site` (a sibling subdomain) pass only with an `Origin` that
 * is one of ours. Browsers without Fetch Metadata still send `Origin` on every POST, so the same
 * comparison covers them. No header at all: not a browser page, nothing to ride.
 */
export function refuseCrossSite(headers: Headers, appOrigins: readonly string[], scheme: string): void {
  const site = headers.get("sec-fetch-site")?.trim().toLowerCase();
  if (site === "same-origin" || site === "none") return;
  const origin = headers.get("origin");
  if (origin === null) {
    if (site === undefined) return;
    throw crossSite(`The request comes from another site (Sec-Fetch-Site: ${site.slice(0, 40)}).`);
  }
  if (!isOwnOrigin(origin.trim(), headers, appOrigins, scheme)) {
    throw crossSite(`Requests from ${describeOrigin(origin)} are refused: only this app's own pages may call it.`);
  }
}

function crossSite(detail: string): Problem {
  return new Problem(403, "Cross-site request refused", detail);
}

/**
 * The scheme the browser used: behind a proxy, the one it forwarded (X-Forwarded-Proto, which a
 * page on another site cannot set either), else the request URL's. `http:` or `https:`.
 */
export function requestScheme(request: Request): string {
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  if (forwarded === "http" || forwarded === "https") return `${forwarded}:`;
  return new URL(request.url).protocol;
}

/** An origin is scheme, host and port: http://host and https://host are two sites. */
function isOwnOrigin(origin: string, headers: Headers, appOrigins: readonly string[], scheme: string): boolean {
  if (appOrigins.includes(origin)) return true;
  const url = parsedOrigin(origin);
  if (url === null || url.protocol !== scheme) return false;
  const originHost = url.host;
  // The host the browser asked for: behind a proxy, the one it forwarded. A page on another site
  // cannot set X-Forwarded-Host on a cross-site call without a CORS preflight, which is refused.
  const forwarded = headers.get("x-forwarded-host")?.split(",")[0]?.trim();
  return [forwarded, headers.get("host")?.trim()].some(
    (host) => !!host && withoutDefaultPort(host.toLowerCase(), scheme) === originHost,
  );
}

/** An http(s) origin parsed (its `host` leaves the default port out, as browsers do); null for `null` or junk. */
function parsedOrigin(origin: string): URL | null {
  try {
    const url = new URL(origin);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

function withoutDefaultPort(host: string, scheme: string): string {
  return host.replace(scheme === "https:" ? /:443$/ : /:80$/, "");
}

function describeOrigin(origin: string): string {
  return origin === "null" ? "an opaque origin (Origin: null)" : JSON.stringify(origin.slice(0, 100));
}

// ---- no key: say so (once per engine: lib/server/guard/admit.ts) -------------------------------

export function warnOpenRoute(): void {
  logWarning(
    "open-route",
    "ROUTE_API_KEY is not set: the routes under /api/ai/replicate are open to anyone who can reach this server, " +
      "and every call runs the model on your Replicate account. Set ROUTE_API_KEY (or plug your sessions into " +
      "lib/guard/access.ts) before deploying anywhere public.",
  );
}
