/**
 * A Server-Sent Events reader for `fetch` bodies. EventSource cannot POST, so the page reads
 * the stream itself. Follows the WHATWG "event stream interpretation" rules that matter here:
 * lines end in \r\n, \n or \r (and a chunk may end between \r and \n), `data:` lines of one
 * event join with \n, lines starting with ":" are comments, a blank line dispatches.
 */

export type SseEvent = { event: string; data: string };

export type SseParser = {
  /** Feeds decoded text; dispatches every event completed by it. */
  push(text: string): void;
  /** The stream ended: an event without its closing blank line is dropped, as the spec says. */
  end(): void;
};

export function createSseParser(onEvent: (event: SseEvent) => void): SseParser {
  let line = "";
  let afterCarriageReturn = false;
  let atStreamStart = true;
  let eventName = "";
  let dataLines: string[] = [];

  function dispatch() {
    if (dataLines.length > 0) onEvent({ event: eventName || "message", data: dataLines.join("\n") });
    eventName = "";
    dataLines = [];
  }

  function processLine(text: string) {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") eventName = value;
    else if (field === "data") dataLines.push(value);
    // `id` and `retry` only matter for EventSource reconnection, which a POST cannot do.
  }

  return {
    push(text) {
      if (atStreamStart && text.length > 0) {
        atStreamStart = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      for (const char of text) {
        if (afterCarriageReturn) {
          afterCarriageReturn = false;
          if (char === "\n") continue;
        }
        if (char === "\r" || char === "\n") {
          afterCarriageReturn = char === "\r";
          processLine(line);
          line = "";
        } else {
          line += char;
        }
      }
    },
    end() {
      line = "";
      eventName = "";
      dataLines = [];
    },
  };
}

/** Yields the events of a byte stream; multi-byte characters split across chunks survive. */
export async function* readSseEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const queue: SseEvent[] = [];
  const parser = createSseParser((event) => queue.push(event));
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.push(decoder.decode());
        parser.end();
        yield* queue.splice(0);
        return;
      }
      parser.push(decoder.decode(value, { stream: true }));
      yield* queue.splice(0);
    }
  } finally {
    // Stopping early (a `done` event, an abort) must not leave the connection open.
    reader.cancel().catch(() => {});
  }
}
