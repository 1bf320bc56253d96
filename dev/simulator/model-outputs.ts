/**
 * What a prediction of a catalogue model produces, read from its version's Output schema (a model
 * added to the catalogue needs no code here): files (`format: "uri"`, an array of them or one),
 * tokens (an `x-cog-array-type: iterator` array of strings: text streamed on `urls.stream`), or one
 * text at the end (a plain string, such as a transcript). How many files and of which format
 * follow the input (`num_outputs`, `output_format`) or the schema's defaults for them. Models
 * outside the catalogue get null: they are the seed's kind of image model.
 */
import type { CatalogueVersion, JsonObject } from "./models";
import type { FileExtension, OutputFiles } from "./sim-prediction";

export type OutputPlan =
  | { kind: "image"; files: OutputFiles }
  | { kind: "text"; maxTokens?: number }
  | { kind: "transcript"; transcript: string };

/** Most files one prediction makes, whatever `num_outputs` says. */
const MAX_FILES = 16;

const EXTENSIONS: Record<string, FileExtension> = { png: "png", webp: "webp", jpg: "jpg", jpeg: "jpg", svg: "svg" };

export function planOutput(input: Record<string, unknown>, catalogue: CatalogueVersion | undefined): OutputPlan | null {
  if (!catalogue) return null;
  const schemas = (catalogue.version.openapi_schema.components as { schemas?: Record<string, JsonObject> } | undefined)?.schemas;
  const output = schemas?.Output;
  const properties = (schemas?.Input?.properties ?? {}) as Record<string, JsonObject>;
  const given = (name: string) => input[name] ?? properties[name]?.default;
  if (!output) return null;
  const items = output.items as JsonObject | undefined;

  if (output.type === "array" && items?.format === "uri") {
    const wanted = given("num_outputs");
    const count = Number.isInteger(wanted) ? Math.min(Math.max(wanted as number, 1), MAX_FILES) : 1;
    return { kind: "image", files: { count, extension: extensionOf(given("output_format")), array: true } };
  }
  if (output.type === "string" && output.format === "uri") {
    return { kind: "image", files: { count: 1, extension: extensionOf(given("output_format")), array: false } };
  }
  if (output.type === "array" && items?.type === "string" && output["x-cog-array-type"] === "iterator") {
    const maxTokens = given("max_tokens");
    return { kind: "text", ...(Number.isInteger(maxTokens) ? { maxTokens: maxTokens as number } : {}) };
  }
  if (output.type === "string") return { kind: "transcript", transcript: transcriptOf(input) };
  return null;
}

function extensionOf(format: unknown): FileExtension {
  return (typeof format === "string" && EXTENSIONS[format.toLowerCase()]) || "svg";
}

/** A transcript that shows what it was made from: the audio, its language, a translation. */
function transcriptOf(input: Record<string, unknown>): string {
  const language = typeof input.language === "string" && input.language !== "auto" ? input.language : "en";
  const translated = input.translate === true && language !== "en" ? `, translated from ${language} to en` : "";
  return `Simulated transcript of ${describeAudio(input.audio)} (${language}${translated}): the quick brown fox jumps over the lazy dog.`;
}

function describeAudio(audio: unknown): string {
  if (typeof audio !== "string") return "no audio";
  const dataUrl = /^data:([^;,]+)[^,]*;base64,(.*)$/s.exec(audio);
  if (dataUrl) return `${Buffer.from(dataUrl[2], "base64").length} bytes of ${dataUrl[1]}`;
  try {
    return new URL(audio).pathname.split("/").pop() || audio;
  } catch {
    return "an audio file";
  }
}
