/** Quotes a string for POSIX shells: single quotes keep everything literal except `'` itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A curl command that sends `body` to the route, answering the final JSON (no event stream).
 * With `authorizationVariable`, it sends the access key from that shell variable: the key itself
 * never lands in a clipboard or a shell history.
 */
export function buildCurlCommand(url: string, body: unknown, options: { authorizationVariable?: string } = {}): string {
  const variable = options.authorizationVariable;
  return [
    `curl -X POST ${shellQuote(url)}`,
    `  -H 'Content-Type: application/json'`,
    ...(variable && /^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) ? [`  -H "Authorization: Bearer $${variable}"`] : []),
    `  -d ${shellQuote(JSON.stringify(body))}`,
  ].join(" \\\n");
}
