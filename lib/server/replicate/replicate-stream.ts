import "server-only";
import type { Config } from "@/lib/server/config";
import { redactToken, toReplicateProblem } from "@/lib/server/replicate/replicate-errors";
import { callReplicate, type CallStats } from "@/lib/server/replicate/transport";
import { EVENT_STREAM_TYPE } from "@/lib/shared/event-stream";
import { createSseParser, type SseEvent } from "@/lib/shared/sse";

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
  const { data } = await callReplicate<NodeJS.ReadableStream>(config, {
    method: "GET",
    path: url,
    headers: { Accept: EVENT_STREAM_TYPE },
    stream: true,
    idempotent: true,
    deadline: Date.now() + 5_000,
    signal,
    timeoutMs: options.idleMs ?? config.timeoutSeconds * 1000,
    stats: options.stats,
  });
  const queue: SseEvent[] = [];
  const parser = createSseParser((event) => queue.push(redactToken(event, config.token)));
  const decoder = new TextDecoder();
  try {
    for await (const chunk of data) {
      parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
    }
  } catch (error) {
    throw toReplicateProblem(error, config.token);
  }
}
