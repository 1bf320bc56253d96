/**
 * The running prediction's handle lives in the page's URL (`?prediction=<handle>`): a reload, or
 * the address pasted into another tab, re-attaches to it.
 */
export const PREDICTION_PARAM = "prediction";

// A handle is `{id}.{mac}` (base64url); the route checks it strictly, this only keeps junk out.
const LOOKS_LIKE_A_HANDLE = /^[a-z0-9]{1,64}\.[A-Za-z0-9_-]{1,64}$/;

export function handleFromUrl(href: string): string | null {
  const handle = new URL(href).searchParams.get(PREDICTION_PARAM)?.trim() ?? "";
  return LOOKS_LIKE_A_HANDLE.test(handle) ? handle : null;
}

/** The same URL naming `handle` (or none, with null); the rest of the query and the hash stay. */
export function withHandle(href: string, handle: string | null): string {
  const url = new URL(href);
  if (handle === null) url.searchParams.delete(PREDICTION_PARAM);
  else url.searchParams.set(PREDICTION_PARAM, handle);
  return url.href;
}
