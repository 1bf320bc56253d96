// Whether app/api/ai/replicate/schema.ts is still the committed seed (tests/support/seed-schema.ts
// is its copy): the few tests of that very file skip themselves, saying so in one line, once
// `npm run model` has fitted it to another model. Reads the files only, so the e2e project may use it.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseGeneratedFrom } from "@/dev/fit-model/generated-from";

const ROOT = path.resolve(__dirname, "../..");
export const APP_SCHEMA_FILE = path.join(ROOT, "app/api/ai/replicate/schema.ts");
export const SEED_SCHEMA_FILE = path.join(ROOT, "tests/support/seed-schema.ts");

/** The seed fixture's text without its own leading `//` comment: what the committed schema.ts holds. */
export function seedSchemaText(): string {
  const text = readFileSync(SEED_SCHEMA_FILE, "utf8");
  return text.slice(text.indexOf("/**"));
}

/**
 * Whether schema.ts is meant to be the committed seed: it records the seed's model version and
 * carries the seed's hand edits. A file fitted to another model (or regenerated for the seed's
 * model, without the hand edits) is not; the tests of the committed file then skip themselves.
 */
export function appSchemaIsTheSeed(): boolean {
  const text = readFileSync(APP_SCHEMA_FILE, "utf8");
  const seed = seedSchemaText();
  return recordedSource(text) === recordedSource(seed) && text.includes("// Hand edit:");
}

/** `model:version` as the file's `generatedFrom` records it. */
export function recordedSource(text: string): string {
  const from = parseGeneratedFrom(text);
  return from ? `${from.model}:${from.version}` : "a model it does not record";
}

/** The one line a skipped test of the committed schema.ts prints; empty while schema.ts is the seed. */
export function notTheSeedNotice(what: string): string {
  if (appSchemaIsTheSeed()) return "";
  const source = recordedSource(readFileSync(APP_SCHEMA_FILE, "utf8"));
  return `Skipped ${what}: app/api/ai/replicate/schema.ts is fitted to ${source}, not the committed seed (git checkout it to run them).`;
}
