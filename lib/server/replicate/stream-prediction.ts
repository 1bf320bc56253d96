import "server-only";
import type { Config } from "../config";
import { eventStreamResponse, type SendEvent } from "../http/sse-response";
import { toProblem } from "../problem";
import { replicateEvents } from "./replicate-stream";
import { keepOutputsBy } from "./answer";
import { isTerminal, type Prediction } from "../../shared/prediction";
import { predictionEventTracker } from "../../shared/prediction-events";
import { isFileStreamUrl, streamUrlOf } from "../../shared/replicate-objects";
import type { RunOutcome } from "./run-prediction";
import type { CallStats } from "./transport";

/** Runs (or follows) a prediction, reporting each state it sees through `onUpdate`. */
export type Runner = (options: { signal: AbortSignal; onUpdate: (prediction: Prediction) => void }) => Promise<RunOutcome>;

/**
 * The live view of a prediction as Server-Sent Events: status, progress, new logs and output as
 * they change, then exactly one `done` carrying what the JSON answer would have been (the terminal
 * prediction, the timeout's, or a problem). An error after the stream started is that `done`,
 * never a broken connection. When the client goes away, the runner's signal aborts, so it stops
 * polling; the runner decides whether that cancels the prediction (the POST's does, a re-attached
 * GET's does not: the prediction runs on for the next page).
 */
export interface StreamOptions {
  /** The prediction's handle URL: the response's `Content-Location`, and a `location` field of the first event. */
  location?: string;
  /** Epoch ms (the cap): `done` never waits on output copies past it (answer.ts `keepOutputsBy`). */
  deadline?: number;
}

export function streamPrediction(
  config: Config,
  run: Runner,
  requestSignal: AbortSignal,
  stats?: CallStats,
  options: StreamOptions = {},
): Response {
  const response = eventStreamResponse(
    async (sendEvent, signal) => {
      let unnamed = options.location !== undefined;
      const send: SendEvent = (event, data) => {
        if (unnamed && typeof data === "object" && data !== null && !Array.isArray(data))
          data = { ...data, location: options.location };
        unnamed = false;
        sendEvent(event, data);
      };
      const outputs = new AbortController();
      let streamed = null as StreamedOutput | null;
      const track = predictionEventTracker({ outputStreamed: () => streamed !== null });
      const onUpdate = (prediction: Prediction) => {
        // Once the prediction has a stream, its outputs come from there, as the model makes them.
        const url = streamed === null && !isTerminal(prediction) ? streamUrlOf(prediction) : undefined;
        if (url) {
          const output = (streamed = new StreamedOutput(isFileStreamUrl(url)));
          void streamOutputs(config, url, outputs.signal, stats, (data) => send("output", { output: output.add(data) }));
        }
        for (const { event, data } of track(prediction)) send(event, data);
      };
      try {
        const outcome = await run({ signal, onUpdate });
        // The stream may have lost its last events to the poll that saw the end: the final word is the prediction's.
        const final = streamed?.final(outcome.prediction.output);
        if (final !== undefined) send("output", { output: final });
        send("done", await keepOutputsBy(config, outcome.prediction, options.deadline));
      } catch (error) {
        send("done", toProblem(error).toJSON());
      } finally {
        outputs.abort();
      }
    },
    { signal: requestSignal },
  );
  if (options.location !== undefined) response.headers.set("Content-Location", options.location);
  return response;
}

/**
 * What `urls.stream` has sent so far, in the shape of the prediction's output. A text stream sends
 * text chunks, joined into one text; a file stream (its URL's path is under `/v1/files/`, as the
 * official client tells them) sends files, one URL or data URL an event, collected into the array
 * of files so far, as Replicate's output of a file-making model is. The last word is the
 * prediction's own output (`final`).
 */
class StreamedOutput {
  private text = "";
  private readonly files: string[] = [];

  constructor(private readonly ofFiles: boolean) {}

  add(data: string): string | string[] {
    if (this.ofFiles) {
      this.files.push(data.trim());
      return [...this.files];
    }
    this.text += data;
    return this.text;
  }

  /** The prediction's own output, in the streamed form, when it says more than was streamed; else undefined. */
  final(output: unknown): unknown {
    if (output == null) return undefined;
    if (this.ofFiles) return JSON.stringify(output) === JSON.stringify(this.files) ? undefined : output;
    const text = textOf(output);
    return text === null || text === this.text ? undefined : text;
  }
}

/** A language model's output as one text (Replicate sends it as an array of tokens). */
function textOf(output: unknown): string | null {
  if (typeof output === "string") return output;
  if (Array.isArray(output) && output.every((token) => typeof token === "string")) return output.join("");
  return null;
}

/**
 * Outputs from `urls.stream` as they are made; polling still reports everything else. A stream may
 * be silent for minutes while the model boots: it is read until the run ends (the cap bounds it).
 */
async function streamOutputs(
  config: Config,
  url: string,
  signal: AbortSignal,
  stats: CallStats | undefined,
  onData: (data: string) => void,
): Promise<void> {
  try {
    for await (const event of replicateEvents(config, url, signal, { stats, idleMs: config.timeoutSeconds * 1000 })) {
      if (event.event === "output") onData(event.data);
      if (event.event === "done" || event.event === "error") return;
    }
  } catch {
    // The stream is a bonus: the polled prediction still carries the output.
  }
}
