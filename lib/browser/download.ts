/**
 * Saving output files through the app (`GET /api/ai/replicate/download/{handle}/{index}`): the
 * route reads the file from Replicate's host (or the kept copy) and answers it as an attachment.
 * The page fetches it with its access key, then saves the bytes under the name the route gave.
 */
import { describeAnswer } from "./run-report";
import { readJsonAnswer } from "./route-answer";
import { ROUTE_PATH } from "./route-calls";

export function downloadPath(handle: string, index: number): string {
  return `${ROUTE_PATH}/download/${encodeURIComponent(handle)}/${index}`;
}

/** The file name of a `Content-Disposition: attachment; filename="..."`; null without one. */
export function fileNameOf(disposition: string | null): string | null {
  const match = disposition ? /filename\s*=\s*"([^"]+)"|filename\s*=\s*([^;\s]+)/i.exec(disposition) : null;
  const name = match?.[1] ?? match?.[2];
  return name ? name.replace(/[\\/]/g, "_") : null;
}

export type DownloadedFile = { blob: Blob; name: string };

/** One output file as a Blob and its name; an error answer rejects with the route's words. */
export async function fetchOutputFile(
  handle: string,
  index: number,
  options: { headers?: Record<string, string>; fetch?: typeof fetch } = {},
): Promise<DownloadedFile> {
  const response = await (options.fetch ?? fetch)(downloadPath(handle, index), {
    headers: { ...options.headers },
    cache: "no-store",
  });
  if (!response.ok) {
    const report = describeAnswer(await readJsonAnswer(response));
    const message = "message" in report ? report.message : `The download failed (HTTP ${response.status})`;
    throw new Error("detail" in report && report.detail ? `${message}: ${report.detail}` : message);
  }
  return {
    blob: await response.blob(),
    name: fileNameOf(response.headers.get("content-disposition")) ?? `${handle.split(".")[0]}-${index}`,
  };
}

/** Hands a Blob to the browser's downloads, same-origin, so `download` names it. */
export function saveFile({ blob, name }: DownloadedFile, doc: Document = document): void {
  const url = URL.createObjectURL(blob);
  const link = doc.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  doc.body.appendChild(link);
  link.click();
  link.remove();
  // Give the download time to start before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
