import "server-only";
// A `multipart/form-data` body as the fields a JSON body would carry, so the same schema checks
// both. busboy parses the bytes as they arrive from `countedChunks`, so the body limit, the body
// time limit and the process's body budget count multipart exactly as they count JSON.
//
// - A file part becomes a data URL (`data:<its type>;base64,...`), what a JSON body sends for a
//   file; a part sent as application/octet-stream becomes raw base64 (the image field sniffs its
//   type). Its bytes are held once while it arrives, then once as the data URL text.
// - A text part stays text, except where the body's JSON Schema says the field is a number, an
//   integer or a boolean: then text that reads as one (`42`, `1.5`, `true`) becomes one; anything
//   else stays text, for the schema to refuse with its own message; an object or array field's
//   text is read as JSON when it is JSON. JSON bodies are not coerced.
// - A text part must be UTF-8, as a JSON body must: one with bytes that are not (busboy would read
//   them as U+FFFD) is a 400, as the same bytes in JSON are.
// - A field sent twice, a part without a name (or named only by `name*=`, which busboy does not
//   read), or a malformed body is a 400 naming what is wrong.

import busboy from "busboy";
import { Problem } from "../problem";
import { countedChunks, invalidBody } from "./read-json-body";

/** The part of a JSON Schema the coercion reads: the type of each top-level property. */
export interface FieldTypes {
  properties?: Record<string, { type?: string | string[] }>;
}

const MAX_PARTS = 100;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export function isMultipart(request: Request): boolean {
  return /^multipart\/form-data\b/i.test(request.headers.get("content-type") ?? "");
}

export async function readMultipartBody(
  request: Request,
  maxBytes: number,
  schema: FieldTypes = {},
  limitName = "REPLICATE_MAX_BODY_BYTES",
): Promise<Record<string, unknown>> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": request.headers.get("content-type") ?? "" },
      // Browsers send field and file names as raw UTF-8 (busboy reads them as latin1 by default).
      defParamCharset: "utf8",
      limits: { parts: MAX_PARTS, fieldSize: maxBytes, fileSize: maxBytes },
    });
  } catch (error) {
    throw malformed(error);
  }
  const fields: Record<string, unknown> = {};
  const pending: Promise<void>[] = [];
  let failure: Problem | null = null;
  const fail = (problem: Problem) => void (failure ??= problem);
  const put = (name: string | undefined, value: unknown) => {
    if (name === undefined)
      return fail(invalidBody('A multipart part names its field only with `name*=`; send `name="..."` (raw UTF-8 is fine).'));
    if (name === "") return fail(invalidBody("A multipart part has no field name."));
    if (Object.hasOwn(fields, name)) return fail(invalidBody(`The field \`${name.slice(0, 100)}\` was sent more than once.`));
    Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  };

  parser.on("field", (name: string | undefined, value) => {
    // busboy decodes text leniently: a byte sequence that is not UTF-8 comes out as U+FFFD.
    if (value.includes("\uFFFD"))
      return fail(invalidBody(`The field \`${String(name).slice(0, 100)}\` is not valid UTF-8 text.`));
    put(name, coerce(value, name === undefined ? undefined : schema.properties?.[name]?.type));
  });
  parser.on("file", (name: string | undefined, stream, info) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    pending.push(
      new Promise<void>((resolve) => {
        stream.on("error", () => resolve());
        stream.on("close", () => {
          if (failure) return resolve();
          const bytes = Buffer.concat(chunks);
          chunks.length = 0;
          const type = info.mimeType.toLowerCase();
          const base64 = bytes.toString("base64");
          put(name, type === "" || type === "application/octet-stream" ? base64 : `data:${type};base64,${base64}`);
          resolve();
        });
      }),
    );
  });
  parser.on("partsLimit", () => fail(invalidBody(`The multipart body has more than ${MAX_PARTS} parts.`)));
  const finished = new Promise<void>((resolve) => {
    parser.on("close", resolve);
    parser.on("error", (error) => (fail(malformed(error)), resolve()));
  });

  for await (const chunk of countedChunks(request, maxBytes, limitName)) {
    if (failure) break;
    // busboy's writes are synchronous parsing; its backpressure does not matter: the chunk is already in memory.
    parser.write(chunk);
  }
  if (!failure) {
    parser.end();
    await finished;
    await Promise.all(pending);
  }
  if (failure) {
    parser.destroy();
    throw failure;
  }
  if (Object.keys(fields).length === 0) throw invalidBody("The multipart body has no fields; send at least `prompt`.");
  return fields;
}

function coerce(text: string, type: string | string[] | undefined): unknown {
  const types = type === undefined ? [] : Array.isArray(type) ? type : [type];
  if ((types.includes("number") || types.includes("integer")) && NUMBER.test(text)) return Number(text);
  if (types.includes("boolean") && (text === "true" || text === "false")) return text === "true";
  if (types.includes("object") || types.includes("array")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function malformed(error: unknown): Problem {
  const reason = error instanceof Error ? error.message.replace(/^Multipart: /, "") : "it could not be parsed";
  return invalidBody(`The multipart body is malformed: ${reason.slice(0, 200)}.`);
}
