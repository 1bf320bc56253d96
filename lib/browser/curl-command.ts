/** Quotes a string for POSIX shells: single quotes keep everything literal except `'` itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A curl command that sends `body` to the route, answering the final JSON (no event stream).
 * With `authorizationVariable`, it sends the access key from that shell variable: the key itself
 * never lands in a clipboard or a shell history. The same for each of `secretFields` the body
 * holds (a model's secret inputs): its value is read from a shell variable named after the field.
 */
export function buildCurlCommand(
  url: string,
  body: unknown,
  options: { authorizationVariable?: string; secretFields?: readonly string[] } = {},
): string {
  const variable = options.authorizationVariable;
  return [
    `curl -X POST ${shellQuote(url)}`,
    `  -H 'Content-Type: application/json'`,
    ...(variable && isShellName(variable) ? [`  -H "Authorization: Bearer $${variable}"`] : []),
    `  -d ${quotedBody(body, options.secretFields ?? [])}`,
  ].join(" \\\n");
}

/** The secret's shell variable: its field name in capitals, e.g. api_key -> $API_KEY. */
export function secretVariable(field: string): string {
  const name = field.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

// Each secret's value becomes a placeholder, then the quoted text is cut there to let the shell
// put the variable in: '{"api_key":"'"$API_KEY"'"}'.
function quotedBody(body: unknown, secretFields: readonly string[]): string {
  const secrets = typeof body === "object" && body !== null ? secretFields.filter((field) => field in body) : [];
  if (secrets.length === 0) return shellQuote(JSON.stringify(body));
  const marks = new Map(secrets.map((field, index) => [`\u0000secret${index}\u0000`, secretVariable(field)]));
  const masked = { ...(body as Record<string, unknown>) };
  [...marks.keys()].forEach((mark, index) => {
    masked[secrets[index]] = mark;
  });
  let quoted = shellQuote(JSON.stringify(masked));
  for (const [mark, name] of marks) quoted = quoted.split(JSON.stringify(mark).slice(1, -1)).join(`'"$${name}"'`);
  return quoted;
}

function isShellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
