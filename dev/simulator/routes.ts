import type { CreateTarget } from "./create-request";
import type { EndpointKind } from "./types";

/**
 * Which endpoint a request is for. The API is matched on the path after `/v1`, so any base URL works
 * (https://api.replicate.com/v1, http://127.0.0.1:4010/v1, a proxy prefix...); output files and
 * text streams live at `/files/...` and `/stream/...` on the same origin, file streams at
 * `/v1/files/{id}/stream` (a path under `/v1/files/` is how clients tell a file stream).
 */

export type Route =
  | { kind: "create"; target: CreateTarget }
  | { kind: "list" }
  | { kind: "get" | "cancel"; id: string }
  | { kind: "secret" }
  /** A model (`version` null) or one of its versions, from the catalogue (models/index.ts). */
  | { kind: "model"; owner: string; name: string; version: string | null }
  /** GET /account: who the token belongs to. */
  | { kind: "account" }
  /** GET /deployments/{owner}/{name}, from the catalogue (models/index.ts). */
  | { kind: "deployment"; owner: string; name: string }
  | { kind: "file"; id: string; fileName: string }
  | { kind: "stream"; id: string }
  | { kind: "files"; action: "upload" | "get" | "delete" | "download"; id: string }
  | { kind: "unknown" };

export type RouteKind = EndpointKind | "unknown";

export function matchRoute(method: string, pathname: string): Route {
  const apiPath = pathAfterV1(pathname);
  if (apiPath !== null) return matchApiRoute(method.toUpperCase(), segments(apiPath));
  const parts = segments(pathname);
  if (method.toUpperCase() !== "GET") return { kind: "unknown" };
  if (parts.length === 3 && parts[0] === "files") return { kind: "file", id: parts[1], fileName: parts[2] };
  if (parts.length === 2 && parts[0] === "stream") return { kind: "stream", id: parts[1] };
  return { kind: "unknown" };
}

function matchApiRoute(method: string, parts: string[]): Route {
  const [first, second, third, fourth] = parts;
  const n = parts.length;
  // A file stream (`urls.stream` of an image prediction): public, like the text streams.
  if (first === "files" && n === 3 && third === "stream" && method === "GET") return { kind: "stream", id: second };
  if (first === "files" && n === 1 && method === "POST") return { kind: "files", action: "upload", id: "" };
  if (first === "files" && n === 2 && (method === "GET" || method === "DELETE")) {
    return { kind: "files", action: method === "GET" ? "get" : "delete", id: second };
  }
  if (first === "files" && n === 3 && third === "download" && method === "GET")
    return { kind: "files", action: "download", id: second };
  if (first === "predictions") {
    if (n === 1 && method === "POST") return { kind: "create", target: { via: "version" } };
    if (n === 1 && method === "GET") return { kind: "list" };
    if (n === 2 && method === "GET") return { kind: "get", id: second };
    if (n === 3 && third === "cancel" && method === "POST") return { kind: "cancel", id: second };
  }
  if (first === "models" && method === "GET" && (n === 3 || (n === 5 && fourth === "versions"))) {
    return { kind: "model", owner: second, name: third, version: n === 5 ? parts[4] : null };
  }
  if ((first === "models" || first === "deployments") && n === 4 && fourth === "predictions" && method === "POST") {
    const via = first === "models" ? "model" : "deployment";
    return { kind: "create", target: { via, owner: second, name: third } };
  }
  if (first === "account" && n === 1 && method === "GET") return { kind: "account" };
  if (first === "deployments" && n === 3 && method === "GET") return { kind: "deployment", owner: second, name: third };
  if (n === 3 && first === "webhooks" && second === "default" && third === "secret" && method === "GET") {
    return { kind: "secret" };
  }
  return { kind: "unknown" };
}

function pathAfterV1(pathname: string): string | null {
  const path = pathname.replace(/\/+$/, "");
  if (path.endsWith("/v1")) return "/";
  const index = path.indexOf("/v1/");
  return index >= 0 ? path.slice(index + 3) : null;
}

function segments(path: string): string[] {
  return path
    .split("/")
    .filter(Boolean)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
}
