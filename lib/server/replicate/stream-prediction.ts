import "server-only";
import type { Config } from "@/lib/server/config";
import { eventStreamResponse } from "@/lib/server/http/event-stream";
import { toProblem } from "@/lib/server/problem";
import { replicateEvents } from "@/lib/server/replicate/transport";
import { isTerminal, type Prediction } from "@/lib/shared/prediction";
import { predictionEventTracker } from "@/lib/shared/prediction-events";
import type { RunOutcome } from "@/lib/server/replicate/run-prediction";

/** Runs (or follows) a prediction, reporting each state it sees through `onUpdate`. */
export type Runner = (options: { signal: AbortSignal; onUpdate: (prediction: Prediction) => void }) => Promise<RunOutcome>;

/**
 * The live view of a prediction as Server-Sent Events: status, progress, new logs and output as
 * they change, then exactly one `done` carrying what the JSON answer would have been (the terminal
 * prediction, the timeout's, or a problem). An error after the stream started is that `done`,
 * never a broken connection. When the client goes away, the runner's signal aborts, so it stops
 * polling and cancels the prediction.
 */
export function streamPrediction(config: Config, run: Runner, requestSignal: AbortSignal): Response {
  return eventStreamResponse(async (send, signal) => {
    const tokens = new AbortController();
    let streamedText: string | null = null;
    const track = predictionEventTracker({ outputStreamed: () => streamedText !== null });
    const onUpdate = (prediction: Prediction) => {
      for (const { event, data } of track(prediction)) send(event, data);
      if (prediction.urls?.stream && streamedText === null && !isTerminal(prediction)) {
        streamedText = "";
        void streamTokens(config, prediction.urls.stream, tokens.signal, (text) => {
          streamedText += text;
          send("output", { output: streamedText });
        });
      }
    };
    try {
      const outcome = await run({ signal, onUpdate });
      // The stream may have lost its last tokens to the poll that saw the end: the final word is the prediction's.
      const finalText = textOf(outcome.prediction.output);
      if (streamedText !== null && finalText !== null && finalText !== streamedText) send("output", { output: finalText });
      send("done", outcome.prediction);
    } catch (error) {
      send("done", toProblem(error).toJSON());
    } finally {
      tokens.abort();
    }
  }, { signal: requestSignal });
}

/** A language model's output as one text (Replicate sends it as an array of tokens). */
function textOf(output: unknown): string | null {
  if (typeof output === "string") return output;
  if (Array.isArray(output) && output.every((token) => typeof token === "string")) return output.join("");
  return null;
}

/** Tokens from `urls.stream` as they are made; polling still reports everything else. */
async function streamTokens(config: Config, url: string, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
  try {
    for await (const event of replicateEvents(config, url, signal)) {
      if (event.event === "output") onText(event.data);
      if (event.event === "done" || event.event === "error") return;
    }
  } catch {
    // The stream is a bonus: the polled prediction still carries the output.
  }
}
