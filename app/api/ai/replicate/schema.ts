/**
 * EDIT THIS FILE to fit your own model: the request body your page sends, and how it maps to
 * the model's `input`. Everything else (config, retries, waiting, canceling) stays as it is, and
 * the page's request type is derived from this schema; only a new form field needs the form.
 */
import { z } from "zod";
import { toImageDataUrl } from "@/lib/server/image";

/** The request body. Unknown keys are rejected (a typo such as `promt` is an error, not a silently ignored field). */
export const requestBodySchema = z.strictObject({
  prompt: z
    .string({ error: "must be a string" })
    .refine((prompt) => prompt.trim().length > 0, "must not be empty"),
  seed: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(0, "must be 0 or more")
    .max(Number.MAX_SAFE_INTEGER, "is too large")
    .optional(),
  style: z.string({ error: "must be a string" }).optional(),
  // Raw base64 (sent on as a data URL whose type is sniffed from the bytes) or a data:image URL.
  image: z
    .string({ error: "must be a string" })
    .transform((value, context) => {
      const result = toImageDataUrl(value);
      if (result.ok) return result.dataUrl;
      context.addIssue({ code: "custom", message: result.reason });
      return z.NEVER;
    })
    .optional(),
});

export type RequestBody = z.infer<typeof requestBodySchema>;

/**
 * The model's `input`: the body as zod parsed it (absent optional fields are already left out,
 * `image` is already a data URL). Rename or add keys here when your model's names differ.
 */
export function toModelInput(body: RequestBody): Record<string, unknown> {
  return { ...body };
}
