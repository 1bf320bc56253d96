/**
 * How to show a model's output: files (images, audio, video, anything else as a link) by their
 * URL's extension or data: URL type, text from a language model's tokens (a list to join, or the
 * text so far while streaming), anything else as formatted JSON. The model's output schema, when
 * the route gives one, settles what the value alone cannot (tokens that look like URLs).
 */
import type { JsonSchema } from "./form-schema";

export type MediaKind = "image" | "audio" | "video" | "file";

export type OutputFile = { kind: MediaKind; url: string };

export type OutputView = { files: OutputFile[]; text: string | null; json: string | null };

const EMPTY: OutputView = { files: [], text: null, json: null };

// Kept outputs (OUTPUT_STORAGE=fs) are app-relative: `/api/ai/replicate/outputs/{token}`.
const URL_START = /^(https?:\/\/|data:[\w.+-]+\/[\w.+-]+[;,]|blob:|\/api\/ai\/replicate\/outputs\/)/i;

const KIND_BY_EXTENSION: Record<string, MediaKind> = {
  ...Object.fromEntries(["png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "bmp"].map((extension) => [extension, "image"])),
  ...Object.fromEntries(["mp3", "wav", "ogg", "oga", "flac", "m4a", "aac", "opus"].map((extension) => [extension, "audio"])),
  ...Object.fromEntries(["mp4", "webm", "mov", "mkv", "ogv", "m4v"].map((extension) => [extension, "video"])),
};

export function toOutputView(output: unknown, schema: JsonSchema | null = null): OutputView {
  if (output === null || output === undefined) return EMPTY;
  if (isTextSchema(schema)) {
    if (typeof output === "string") return { ...EMPTY, text: output };
    if (Array.isArray(output) && output.every((item) => typeof item === "string")) return { ...EMPTY, text: output.join("") };
  }
  if (typeof output === "string") return isUrl(output) ? { ...EMPTY, files: [toOutputFile(output)] } : { ...EMPTY, text: output };
  if (Array.isArray(output) && output.every((item) => typeof item === "string")) {
    const items = output as string[];
    if (items.length > 0 && items.every(isUrl)) return { ...EMPTY, files: items.map(toOutputFile) };
    return { ...EMPTY, text: items.join("") };
  }
  return { ...EMPTY, json: JSON.stringify(output, null, 2) };
}

export function hasOutput(view: OutputView): boolean {
  return view.files.length > 0 || view.text !== null || view.json !== null;
}

/** What the model answers, by its output schema: what the empty output area shows before a run. */
export type OutputKind = "text" | "files" | "json" | "unknown";

export function expectedOutputKind(schema: JsonSchema | null): OutputKind {
  if (!schema) return "unknown";
  if (isTextSchema(schema)) return "text";
  if (schema.format === "uri" || (schema.type === "array" && schema.items?.format === "uri")) return "files";
  if (
    schema.type === "object" ||
    schema.type === "array" ||
    schema.type === "number" ||
    schema.type === "integer" ||
    schema.type === "boolean"
  )
    return "json";
  return "unknown";
}

/** Cog's streamed text: an iterator of tokens to concatenate, or a plain string that is no URL. */
function isTextSchema(schema: JsonSchema | null): boolean {
  if (!schema) return false;
  if (schema.type === "string") return schema.format !== "uri";
  return schema.type === "array" && schema["x-cog-array-display"] === "concatenate" && schema.items?.format !== "uri";
}

function isUrl(text: string): boolean {
  return URL_START.test(text) && !/\s/.test(text);
}

/**
 * By the data: URL's media type, else the path's extension; a URL naming neither is taken for an
 * image. An extension is 1 to 5 characters: a longer dotted tail is a signed token (a kept output's
 * `/api/ai/replicate/outputs/v1.<key>.<mac>`), which names no type.
 */
export function toOutputFile(url: string): OutputFile {
  const dataType = /^data:(image|audio|video)\//i.exec(url);
  if (dataType) return { kind: dataType[1].toLowerCase() as MediaKind, url };
  if (/^data:/i.test(url)) return { kind: "file", url };
  const extension = /\.([a-z0-9]{1,5})$/i.exec(pathOf(url))?.[1]?.toLowerCase();
  if (extension === undefined) return { kind: "image", url };
  return { kind: KIND_BY_EXTENSION[extension] ?? "file", url };
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
