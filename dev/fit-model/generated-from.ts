/**
 * What a schema.ts records of its source (`export const generatedFrom = { model, version,
 * deployment? }`, written by generate.ts), read from the file's text: `npm run demo` and
 * `npm run doctor` need it without importing the module (it imports server-only code).
 */
import { readFile } from "node:fs/promises";

export interface GeneratedFrom {
  /** `owner/name` */
  model: string;
  /** 64 hex */
  version: string;
  /** `owner/name` of the deployment it was fitted through. */
  deployment?: string;
}

const BLOCK = /export const generatedFrom = \{([^}]*)\} as const;/;

/** The recorded source, or null for a file that records none (written by hand, or before it was recorded). */
export function parseGeneratedFrom(text: string): GeneratedFrom | null {
  const block = BLOCK.exec(text)?.[1];
  if (block === undefined) return null;
  const value = (key: string) => new RegExp(`\\b${key}:\\s*"([^"]*)"`).exec(block)?.[1];
  const model = value("model");
  const version = value("version");
  if (!model || !version) return null;
  const deployment = value("deployment");
  return deployment ? { model, version, deployment } : { model, version };
}

export async function readGeneratedFrom(file: string): Promise<GeneratedFrom | null> {
  return parseGeneratedFrom(await readFile(file, "utf8"));
}
