/** Quotes a string for POSIX shells: single quotes keep everything literal except `'` itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A curl command that sends `body` to the route, answering the final JSON (no event stream). */
export function buildCurlCommand(url: string, body: unknown): string {
  return [
    `curl -X POST ${shellQuote(url)}`,
    `  -H 'Content-Type: application/json'`,
    `  -d ${shellQuote(JSON.stringify(body))}`,
  ].join(" \\\n");
}
