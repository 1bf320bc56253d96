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

const CR = 13;
const LF = 10;

/** Line breaks of a chunk in order; each of \r and \n is searched for once per occurrence, never rescanned. */
function lineBreaks(text: string, from: number) {
  let cr = text.indexOf("\r", from);
  let lf = text.indexOf("\n", from);
  return {
    /** The next break at or after `from` (which only grows), or -1. */
    next(from: number): number {
      if (cr !== -1 && cr < from) cr = text.indexOf("\r", from);
      if (lf !== -1 && lf < from) lf = text.indexOf("\n", from);
      if (cr === -1) return lf;
      return lf === -1 ? cr : Math.min(cr, lf);
    },
  };
}

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
      // Whole runs of text between line breaks, not a character at a time: a data URL's line is
      // hundreds of KB, and growing it by one character per step costs a rope node per character.
      let start = 0;
      if (afterCarriageReturn && text.length > 0) {
        afterCarriageReturn = false;
        if (text.charCodeAt(0) === LF) start = 1;
      }
      const breaks = lineBreaks(text, start);
      for (let at = breaks.next(start); at !== -1; at = breaks.next(start)) {
        processLine(line + text.slice(start, at));
        line = "";
        start = at + 1;
        if (text.charCodeAt(at) === CR) {
          if (at + 1 === text.length) afterCarriageReturn = true;
          else if (text.charCodeAt(at + 1) === LF) start = at + 2;
        }
      }
      line += text.slice(start);
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
