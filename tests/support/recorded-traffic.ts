/**
 * The real Replicate traffic recorded in the official clients' test suites, as reduced to
 * tests/fixtures/recorded/*.json (dev/recorded-traffic/ says how): each fixture names its source
 * (repository, path, commit) and lists interactions, a request and Replicate's answer to it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export interface RecordedInteraction {
  request: { method: string; uri?: string; path?: string; prefer?: string };
  response: { status: number; body?: unknown; text?: string; contentType?: string };
}

export interface RecordedFixture {
  file: string;
  source: { repository: string; path: string; commit: string; date: string; reduced: string[] };
  interactions: RecordedInteraction[];
}

export type AnswerKind =
  | "create"
  | "prediction"
  | "page"
  | "file"
  | "files"
  | "secret"
  | "model"
  | "version"
  | "stream"
  | "deleted"
  | "error";

const DIR = path.join(import.meta.dirname, "..", "fixtures", "recorded");

export function recordedFixtures(): RecordedFixture[] {
  return readdirSync(DIR)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(path.join(DIR, file), "utf8")) as Omit<RecordedFixture, "file">) }));
}

/** The request's path below `/v1` (cassettes record full URIs, the JavaScript client's tests paths). */
export function requestPath(interaction: RecordedInteraction): string {
  const { uri, path: recorded } = interaction.request;
  const full = uri ? new URL(uri).pathname : (recorded ?? "").split("?")[0];
  return full.replace(/^\/v1(?=\/)/, "").replace(/\/+$/, "");
}

/** What a recorded answer is, by its request. */
export function answerKind(interaction: RecordedInteraction): AnswerKind {
  const { method } = interaction.request;
  const { status } = interaction.response;
  const at = requestPath(interaction);
  if (interaction.response.contentType === "text/event-stream") return "stream";
  if (status >= 400) return "error";
  if (status === 204) return "deleted";
  if (method === "POST" && /^(\/(models|deployments)\/[^/]+\/[^/]+)?\/predictions$/.test(at)) return "create";
  if (/^\/predictions\/[^/]+(\/cancel)?$/.test(at)) return "prediction";
  if (at === "/predictions") return "page";
  if (at === "/files") return method === "POST" ? "file" : "files";
  if (/^\/files\/[^/]+$/.test(at)) return "file";
  if (at === "/webhooks/default/secret") return "secret";
  if (/^\/models\/[^/]+\/[^/]+\/versions(\/[^/]+)?$/.test(at)) return "version";
  if (/^\/models\/[^/]+\/[^/]+$/.test(at)) return "model";
  throw new Error(`a recorded answer of no known kind: ${method} ${at}`);
}
