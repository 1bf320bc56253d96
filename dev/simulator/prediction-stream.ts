import type { Scheduler } from "./scheduler";
import type { SimPrediction } from "./sim-prediction";

/**
 * `urls.stream` of a prediction: server-sent events `output` (a text model: one token each, when the
 * model produces it; an image model's file stream: one file each, a URL or a data URL, once it is
 * written), `error` if it failed, then `done` (`{}` or `{"reason": "canceled" | "error"}`). Event
 * ids look like Replicate's: `<unix seconds>:<sequence>`.
 */

export interface EventStreamOptions {
  /** Stop after half the tokens without `done`, as a connection cut mid-stream would. */
  truncate?: boolean;
  /** The client went away. */
  signal?: AbortSignal | null;
  /** File streams: the data of each file's `output` event (a file URL or a data URL). */
  files?: readonly string[];
}

export function predictionEventStream(
  prediction: SimPrediction,
  scheduler: Scheduler,
  options: EventStreamOptions = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const stopped = new AbortController();
  options.signal?.addEventListener("abort", () => stopped.abort(), { once: true });
  const files = options.files ?? [];
  const isFileStream = prediction.plan.kind !== "text";
  const chunksAt = (now: number): readonly string[] =>
    isFileStream ? (prediction.status(now) === "succeeded" ? files : []) : prediction.tokensAt(now);
  const chunkDueAt = (index: number): number =>
    isFileStream ? (index < files.length ? prediction.ending().at : Infinity) : prediction.tokenDueAt(index);
  const total = isFileStream ? files.length : prediction.tokens.length;
  const cutAfter = options.truncate ? Math.floor(total / 2) : Infinity;

  return new ReadableStream<Uint8Array>({
    start(controller) {
      let sequence = 0;
      const send = (event: string, data: string) => {
        controller.enqueue(encoder.encode(formatEvent(event, data, `${Math.floor(Date.now() / 1000)}:${sequence++}`)));
      };

      const run = async () => {
        let sent = 0;
        while (!stopped.signal.aborted) {
          const now = Date.now();
          const produced = chunksAt(now);
          for (; sent < produced.length; sent++) {
            if (sent >= cutAfter) return controller.close();
            send("output", produced[sent]);
          }
          if (prediction.isTerminal(now)) {
            const { status, error } = prediction.ending();
            if (status === "failed") send("error", JSON.stringify({ detail: error }));
            send("done", JSON.stringify(doneReason(status)));
            return controller.close();
          }
          const woke = await scheduler.waitUntil(chunkDueAt(sent), {
            prediction,
            signal: stopped.signal,
          });
          if (woke === "shutdown") return controller.close();
        }
      };
      run().catch((error: unknown) => controller.error(error));
    },
    cancel() {
      stopped.abort();
    },
  });
}

function doneReason(status: string): Record<string, string> {
  if (status === "succeeded") return {};
  return status === "failed" ? { reason: "error" } : { reason: "canceled" };
}

/** One SSE event; every line of the data gets its own `data:` field so newlines in tokens survive. */
export function formatEvent(event: string, data: string, id: string): string {
  const dataLines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`);
  return `event: ${event}\nid: ${id}\n${dataLines.join("\n")}\n\n`;
}
