import type { RunRequestBody } from "./route-types";

/** The form's fields, in the route's names: field errors from the route are placed by these. */
export const FORM_FIELDS = ["prompt", "seed", "style", "image"] as const;

export type FormValues = { prompt: string; seed: string; style: string; image: string | null };

export const NO_STYLE = "none";

export const STYLES = [NO_STYLE, "photographic", "anime", "watercolor", "pixel-art"] as const;

export const EMPTY_FORM: FormValues = { prompt: "", seed: "", style: NO_STYLE, image: null };

/**
 * Maps what the form holds to the route's body. Empty optional fields are left out. A seed that
 * is not a plain number is sent as typed so the route, the one validator, names the problem.
 */
export function toRequestBody(values: FormValues): RunRequestBody {
  const body: RunRequestBody = { prompt: values.prompt };
  const seed = values.seed.trim();
  if (seed !== "") body.seed = /^-?\d+(\.\d+)?$/.test(seed) ? Number(seed) : seed;
  if (values.style && values.style !== NO_STYLE) body.style = values.style;
  if (values.image) body.image = values.image;
  return body;
}

/** A seed most models accept (they commonly read it as a signed 32-bit integer). */
export function randomSeed(random: () => number = Math.random): number {
  return Math.floor(random() * 2 ** 31);
}
