/**
 * How to show a model's output: image models give URLs (a list, or one), language models give
 * tokens (a list to join, or the text so far while streaming). Anything else is shown as JSON.
 */
export type OutputView = { images: string[]; text: string | null };

const IMAGE_URL = /^(https?:\/\/|data:image\/|blob:)/i;

export function toOutputView(output: unknown): OutputView {
  if (output === null || output === undefined) return { images: [], text: null };
  if (typeof output === "string") return IMAGE_URL.test(output) && !/\s/.test(output) ? { images: [output], text: null } : { images: [], text: output };
  if (Array.isArray(output) && output.every((item) => typeof item === "string")) {
    const items = output as string[];
    if (items.length > 0 && items.every((item) => IMAGE_URL.test(item) && !/\s/.test(item))) return { images: items, text: null };
    return { images: [], text: items.join("") };
  }
  return { images: [], text: JSON.stringify(output, null, 2) };
}
