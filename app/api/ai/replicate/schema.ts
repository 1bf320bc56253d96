/**
 * EDIT THIS FILE to fit your own model: the request body your page sends, and how it maps to
 * the model's `input`. Everything else (config, retries, waiting, canceling) stays as it is. The
 * page's form is drawn from this schema (GET /api/ai/replicate/schema answers it as JSON Schema):
 * each field's `.meta({ title, description, default, examples, "x-order" })`, z.enum as a select,
 * bounded numbers as sliders (small ranges), z.boolean as a toggle, `.meta({ format: "uri",
 * "x-file": "image/*" })` (or audio/*, video/*) as a file picker, `.meta({ "x-presets": [...] })`
 * as suggested values; `outputSchema` tells the output panel files from streamed text. A default
 * goes in `.meta({ default })`, not zod's `.default()`: the route sends only what the user set.
 *
 * Generated from
 * simulated/image-model:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa
 * by `npm run model` (dev/fit-model); running it again rewrites this file, so review the diff.
 */
import { z } from "zod";
import { toImageDataUrl } from "@/lib/server/image";

const HTTP_URL = /^https?:\/\/\S+$/i;

// A file input: an http(s) URL (Replicate downloads it), raw base64 (sent on as a data URL whose
// type is sniffed from the bytes) or a data:image URL.
const imageFile = z.string({ error: "must be a string" }).transform((value, context) => {
  if (HTTP_URL.test(value)) return value;
  const result = toImageDataUrl(value);
  if (result.ok) return result.dataUrl;
  context.addIssue({ code: "custom", message: result.reason });
  return z.NEVER;
});

/** The request body. Unknown keys are rejected (a typo such as `promt` is an error, not a silently ignored field). */
export const requestBodySchema = z.strictObject({
  prompt: z
    .string({ error: "must be a string" })
    .refine((prompt) => prompt.trim().length > 0, "must not be empty")
    // Hand edit: a placeholder for the form (the model's schema has no examples).
    .meta({ description: "What to draw.", examples: ["A lighthouse on a cliff at dusk, volumetric light"], "x-order": 0 }),
  seed: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(0, "must be 0 or more")
    .max(Number.MAX_SAFE_INTEGER, "is too large")
    .optional()
    .meta({ description: "Random seed. Leave blank to randomize.", "x-order": 1 }),
  style: z
    .string({ error: "must be a string" })
    .optional()
    // Hand edit: the form offers these styles (x-presets); the model takes any style name.
    .meta({
      description: "A style name such as anime or watercolor.",
      "x-order": 2,
      "x-presets": ["photographic", "anime", "watercolor", "pixel-art"],
    }),
  image: imageFile
    .optional()
    .meta({ description: "An image to start from.", "x-order": 3, format: "uri", "x-file": "image/*" }),
});

export type RequestBody = z.infer<typeof requestBodySchema>;

/**
 * The model's output as JSON Schema (its OpenAPI `Output`): an array of file URLs. The page's
 * output panel reads it: `format: "uri"` strings are files (shown by their type),
 * `"x-cog-array-type": "iterator"` with `"x-cog-array-display": "concatenate"` is text streamed as
 * tokens.
 */
export const outputSchema = { type: "array", items: { type: "string", format: "uri" } } as const;

/**
 * The model's `input`: the body as zod parsed it (absent optional fields are already left out,
 * `image` is already a URL or data URL). Rename or add keys here when your model's names differ.
 */
export function toModelInput(body: RequestBody): Record<string, unknown> {
  return { ...body };
}
