/**
 * The running prediction's id lives in the page's URL (`?prediction=<id>`): a reload, or the
 * address pasted into another tab, re-attaches to it.
 */
export const PREDICTION_PARAM = "prediction";

// Replicate's ids are lowercase base32; the route checks them strictly, this only keeps junk out.
const LOOKS_LIKE_AN_ID = /^[a-z0-9]{1,64}$/i;

export function predictionIdFromUrl(href: string): string | null {
  const id = new URL(href).searchParams.get(PREDICTION_PARAM)?.trim() ?? "";
  return LOOKS_LIKE_AN_ID.test(id) ? id : null;
}

/** The same URL naming `id` (or none, with null); the rest of the query and the hash stay. */
export function withPredictionId(href: string, id: string | null): string {
  const url = new URL(href);
  if (id === null) url.searchParams.delete(PREDICTION_PARAM);
  else url.searchParams.set(PREDICTION_PARAM, id);
  return url.href;
}
