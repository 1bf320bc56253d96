import "server-only";
import { Problem } from "@/lib/server/problem";
import { invalidFieldsProblem } from "@/lib/server/validation";

/**
 * Route handlers have no body limit of their own, so the route counts bytes as they arrive, with
 * or without `Content-Length`, and stops reading at the limit. (A `proxy.ts` would cut bodies at
 * 10 MB silently; we answer 413 instead.)
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const text = await readBodyText(request, maxBytes);
  if (text.trim() === "") throw invalidBody("The body is empty; send a JSON object such as {\"prompt\": \"...\"}.");
  try {
    return JSON.parse(text);
  } catch {
    const type = request.headers.get("content-type");
    const hint = type && !/json/i.test(type) ? ` (it was sent as ${type.slice(0, 100)})` : "";
    throw invalidBody(`The body is not valid JSON${hint}.`);
  }
}

/** The body as UTF-8 text, at most `maxBytes` of it (413 past that, 400 if not UTF-8). */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readAtMost(request, maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidBody("The body is not valid UTF-8 text.");
  }
}

async function readAtMost(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(maxBytes: number): Problem {
  return new Problem(413, "Request body too large", `The body is larger than the limit of ${maxBytes} bytes (REPLICATE_MAX_BODY_BYTES).`);
}

function invalidBody(detail: string): Problem {
  return invalidFieldsProblem("Invalid request body", detail, [{ field: "body", description: detail }]);
}
