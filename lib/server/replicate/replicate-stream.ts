import "server-only";
import type { Config } from "../config";
import { redactToken, toReplicateProblem } from "./replicate-errors";
import { callReplicate, type CallStats } from "./transport";
import { EVENT_STREAM_TYPE } from "../../shared/event-stream";
import { createSseParser, type SseEvent } from "../../shared/sse";

/**
 * The events of one of Replicate's Server-Sent Event streams (`urls.stream`: tokens as the model
 * makes them), read through the transport, so the token goes only to Replicate's API origin
 * (stream URLs elsewhere are signed). Each event is redacted before it is passed on.
 */

export async function* replicateEvents(
  config: Config,
  url: string,
  signal: AbortSignal,
  options: {
    stats?: CallStats;
    /**
     * The stream may be silent this long (default: the cap, REPLICATE_TIMEOUT_SECONDS): a model that
     * boots cold sends nothing for minutes, and an image model's file stream nothing until its files.
     */
    idleMs?: number;
  } = {},
): AsyncGenerator<SseEvent> {
  const idleMs = options.idleMs ?? config.timeoutSeconds * 1000;
  // Silent past idleMs, the stream is ended here: axios's own timeout covers only the wait for its
  // headers. Aborting the call's own signal (the caller's signal aborts it too) ends the request.
  const clock = config.engine.clock;
  const stop = new AbortController();
  const abort = () => stop.abort();
  if (signal.aborted) abort();
  signal.addEventListener("abort", abort, { once: true });
  let cancelIdle = clock.startTimer(idleMs, abort);
  try {
    const { data } = await callReplicate<NodeJS.ReadableStream>(config, {
      method: "GET",
      path: url,
      headers: { Accept: EVENT_STREAM_TYPE },
      stream: true,
      idempotent: true,
      deadline: clock.now() + 5_000,
      signal: stop.signal,
      timeoutMs: idleMs,
      stats: options.stats,
    });
    const queue: SseEvent[] = [];
    const parser = createSseParser((event) => queue.push(redactToken(event, config.token)));
    const decoder = new TextDecoder();
    for await (const chunk of data) {
      cancelIdle();
      cancelIdle = clock.startTimer(idleMs, abort);
      parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
    }
  } catch (error) {
    throw toReplicateProblem(error, config.token);
  } finally {
    cancelIdle();
    signal.removeEventListener("abort", abort);
    // A reader that stopped early (it had its `done`) leaves no request open.
    abort();
  }
}
