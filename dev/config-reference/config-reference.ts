// The configuration reference, written from the zod schemas that parse the environment:
// docs/configuration.md (a table per schema) and .env.example (every variable with its comment).
// Each variable's meaning is its `.describe()` text; its default is what the schema makes of an
// unset variable; its bounds are read from the number or enum schema inside. So neither file can
// say something the code does not do: `npm run docs:config` rewrites both, and
// tests/config-reference.test.ts fails when either is stale.

import type { z } from "zod";
import { envSchema, guardEnvSchema } from "@/lib/server/config";
import { redisEnvSchema } from "@/lib/server/shared-state/redis-config";
import { storageEnvSchema } from "@/lib/server/storage/storage-config";
import { spendEnvSchema } from "@/lib/server/spend-guard/spend-config";
import { telemetryEnvSchema } from "@/lib/server/telemetry-sdk";

export const CONFIG_COMMAND = "npm run docs:config";

interface Section {
  title: string;
  /** The schema's name where it is declared: tests/config-reference.test.ts checks every parseEnv() call names one. */
  schemaName: string;
  /** Markdown for docs/configuration.md, one paragraph. */
  intro: string;
  /** Where the schema lives, for the reader who wants the code. */
  source: string;
  schema: z.ZodObject;
}

/** Every schema that parses the environment, in the order a reader needs them. */
export const SECTIONS: readonly Section[] = [
  {
    title: "Replicate",
    intro:
      "The token, the model, and how the route talks to Replicate and waits ([Waiting and webhooks](waiting-and-webhooks.md)). " +
      "Exactly one of `REPLICATE_MODEL_VERSION`, `REPLICATE_MODEL` and `REPLICATE_DEPLOYMENT` must be set; none or several is " +
      "a configuration error naming them.",
    schemaName: "envSchema",
    source: "lib/server/config.ts",
    schema: envSchema,
  },
  {
    title: "Guards",
    intro:
      "Who may call the routes and how much ([Security](security.md)). Parsed apart from the Replicate variables, so the " +
      "access check runs before those are read: a caller without the key never learns which variable is missing.",
    schemaName: "guardEnvSchema",
    source: "lib/server/config.ts",
    schema: guardEnvSchema,
  },
  {
    title: "Spend guard",
    intro:
      "Budgets of model time per caller and for the whole app, reserved before each create and settled from what " +
      "Replicate reports ([Spend guard](spend-guard.md)). Both budgets are off by default.",
    schemaName: "spendEnvSchema",
    source: "lib/server/spend-guard/spend-config.ts",
    schema: spendEnvSchema,
  },
  {
    title: "Several instances (Redis)",
    intro: "State shared by every instance of the app ([Scaling out](scaling-out.md)).",
    schemaName: "redisEnvSchema",
    source: "lib/server/shared-state/redis-config.ts",
    schema: redisEnvSchema,
  },
  {
    title: "Output storage",
    intro:
      "Keeping the outputs of succeeded predictions past Replicate's one-hour retention " +
      "([Files and storage](files-and-storage.md#outputs-are-kept-output_storage)).",
    schemaName: "storageEnvSchema",
    source: "lib/server/storage/storage-config.ts",
    schema: storageEnvSchema,
  },
  {
    title: "OpenTelemetry",
    intro:
      "Traces and metrics over OTLP ([Deploy](deploy.md#observe-it-opentelemetry)), **off unless an endpoint (or an exporter) is set**. " +
      "Read by the OpenTelemetry SDK itself (`@opentelemetry/sdk-node`, started by `instrumentation.ts`), as every OpenTelemetry SDK " +
      "reads them, so its other standard variables work too (`OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, " +
      "`OTEL_BSP_SCHEDULE_DELAY`, `OTEL_EXPORTER_OTLP_TIMEOUT`, ...); the app checks these at start and leaves telemetry off, " +
      "with one warning naming the variable, when one is malformed.",
    schemaName: "telemetryEnvSchema",
    source: "lib/server/telemetry-sdk.ts",
    schema: telemetryEnvSchema,
  },
];

export interface Variable {
  name: string;
  section: string;
  description: string;
  /** What an unset variable becomes, as text; undefined when unset means "off" or "none". */
  defaultValue?: string;
  required: boolean;
  /** The values it accepts, when the schema says: a range or a list of choices. */
  accepts?: string;
}

/** Every variable once, in section order (a schema that reads another section's variable does not list it again). */
export function configVariables(): Variable[] {
  const seen = new Set<string>();
  const variables: Variable[] = [];
  for (const section of SECTIONS) {
    for (const [name, schema] of Object.entries(section.schema.shape) as [string, z.ZodType][]) {
      if (seen.has(name)) continue;
      seen.add(name);
      const description = schema.description;
      if (!description) throw new Error(`${name} (${section.source}) has no .describe() text: add one saying what it does.`);
      const unset = schema.safeParse(undefined);
      variables.push({
        name,
        section: section.title,
        description,
        required: !unset.success,
        defaultValue: unset.success ? defaultText(name, unset.data) : undefined,
        accepts: acceptedValues(name, schema),
      });
    }
  }
  return variables;
}

function defaultText(name: string, value: unknown): string | undefined {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  if (value === "") return "empty";
  return String(value);
}

function byteSize(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return ` (${bytes / size} ${unit})`;
  }
  return "";
}

/** Zod's own structure: the number or enum schema under the optional, preprocess and transform wrappers. */
interface ZodNode {
  _zod: { def: { type: string; in?: ZodNode; out?: ZodNode; innerType?: ZodNode } };
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  options?: readonly string[];
}

function innerNodes(node: ZodNode): ZodNode[] {
  const { def } = node._zod;
  const children = [def.in, def.out, def.innerType].filter((child): child is ZodNode => child !== undefined);
  return [node, ...children.flatMap(innerNodes)];
}

const LARGE = 2 ** 50;

function acceptedValues(name: string, schema: z.ZodType): string | undefined {
  for (const node of innerNodes(schema as unknown as ZodNode)) {
    const type = node._zod.def.type;
    if (type === "enum" && node.options) {
      const choices = node.options.map((option) => `\`${option}\``);
      return choices.length === 1 ? choices[0] : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
    }
    if (type === "number") {
      const kind = node.isInt ? "whole number" : "number";
      const min = node.minValue ?? undefined;
      const max = node.maxValue ?? undefined;
      const unit = (value: number) => String(value) + (name.endsWith("_BYTES") ? byteSize(value) : "");
      if (min !== undefined && max !== undefined && max < LARGE) return `${kind}, ${unit(min)} to ${unit(max)}`;
      if (min !== undefined) return `${kind}, at least ${unit(min)}`;
      return kind;
    }
  }
  return undefined;
}

// ---- docs/configuration.md ---------------------------------------------------------------------

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function configurationMarkdown(): string {
  const variables = configVariables();
  const lines = [
    "# Configuration",
    "",
    `<!-- Generated by \`${CONFIG_COMMAND}\` from the zod schemas that parse the environment. Do not edit by hand: change a variable's .describe() text and run it again. -->`,
    "",
    "Every variable is read at the first request (so `next build` needs none of them) and parsed once with zod.",
    "A missing or malformed one is answered as `500 {title, detail, status}` naming it, never its value. Empty",
    "counts as unset: a variable left empty takes its default. [`.env.example`](../.env.example) lists them all",
    "with a comment each: copy it to `.env.local` (git-ignored) and fill in what you need.",
    "",
    ...SECTIONS.map((section) => `- [${section.title}](#${slug(section.title)})`),
    "- [Development and tests](#development-and-tests)",
  ];
  for (const section of SECTIONS) {
    const rows = variables.filter((variable) => variable.section === section.title);
    lines.push(
      "",
      `## ${section.title}`,
      "",
      `${section.intro} Parsed in [\`${section.source}\`](../${section.source}).`,
      "",
      "| variable | meaning | default | accepts |",
      "| --- | --- | --- | --- |",
      ...rows.map((v) => `| \`${v.name}\` | ${cell(v.description)} | ${defaultCell(v)} | ${v.accepts ?? ""} |`),
    );
  }
  lines.push(
    "",
    "## Development and tests",
    "",
    "Read by the project's own tools, not by the app:",
    "",
    "- `PORT`: the port `npm run demo` serves the app on (default `3000`); the simulated Replicate takes port 4010,",
    "  or a free one when 4010 is taken.",
    "- `CHROMIUM_PATH`: the Chromium or Chrome the browser tests drive (default: the first one found).",
    "- `FAULTS_SEED`, `FUZZ_SEED`: replay a run of `tests/faults.test.ts` or `tests/fuzz.test.ts` with its seed.",
    "- `E2E_BUILD`: `1` makes the e2e tests run `next build` first, `0` never (default: when the build is missing or",
    "  older than a source file). `E2E_SKIP=1` skips the browser test.",
    "- `UPDATE_SCREENSHOT`: `1` makes the browser test rewrite `docs/screenshot.png` (what `npm run screenshot` does).",
    "",
  );
  return lines.join("\n");
}

function defaultCell(variable: Variable): string {
  if (variable.required) return "**required**";
  if (variable.defaultValue === undefined) return "unset";
  const size =
    /^\d+$/.test(variable.defaultValue) && variable.name.endsWith("_BYTES") ? byteSize(Number(variable.defaultValue)) : "";
  return `\`${cell(variable.defaultValue)}\`${size}`;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");
}

// ---- .env.example -------------------------------------------------------------------------------

const WIDTH = 100;

function commentLines(text: string): string[] {
  const plain = text.replace(/\*\*/g, "").replace(/`/g, "");
  const lines: string[] = [];
  let line = "#";
  for (const word of plain.split(/\s+/).filter(Boolean)) {
    if (line.length + 1 + word.length > WIDTH && line !== "#") {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  if (line !== "#") lines.push(line);
  return lines;
}

export function envExample(): string {
  const variables = configVariables();
  const out = [
    `# Generated by \`${CONFIG_COMMAND}\` from the zod schemas that parse the environment (docs/configuration.md`,
    "# lists the same). Copy to .env.local and fill in; never commit .env.local: it holds your token.",
    "# Empty counts as unset: a variable left empty takes the default its comment states.",
  ];
  for (const section of SECTIONS) {
    const header = `# ---- ${section.title} `;
    out.push("", header.padEnd(WIDTH, "-"));
    for (const v of variables.filter((variable) => variable.section === section.title)) {
      const size =
        v.defaultValue && /^\d+$/.test(v.defaultValue) && v.name.endsWith("_BYTES") ? byteSize(Number(v.defaultValue)) : "";
      const facts = [
        v.required ? "Required." : v.defaultValue === undefined ? "" : `Default: ${v.defaultValue}${size}.`,
        v.accepts ? `Accepts: ${v.accepts}.` : "",
      ].filter(Boolean);
      out.push("", ...commentLines(v.description), ...(facts.length ? commentLines(facts.join(" ")) : []), `${v.name}=`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** The files this module writes, relative to the project's root. */
export function configReferenceFiles(): { path: string; text: string }[] {
  return [
    { path: "docs/configuration.md", text: configurationMarkdown() },
    { path: ".env.example", text: envExample() },
  ];
}
