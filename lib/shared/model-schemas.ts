// What `GET /api/ai/replicate/schema` answers, as both sides read it: the server builds it from
// the app's zod schema, the page draws its form and output panel from it.

import type { SimulatorInfo } from "./simulator";

/** The part of JSON Schema (draft 2020-12, as zod's `z.toJSONSchema` and Cog emit it) the form reads. */
export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  maxLength?: number;
  format?: string;
  writeOnly?: boolean;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  "x-order"?: number;
  "x-file"?: string;
  "x-presets"?: string[];
  "x-cog-array-type"?: string;
  "x-cog-array-display"?: string;
};

/** What `GET /api/ai/replicate/schema` answers; `simulator` when the app talks to the simulated Replicate. */
export type ModelSchemas = { input: JsonSchema; output: JsonSchema | null; simulator?: SimulatorInfo };
