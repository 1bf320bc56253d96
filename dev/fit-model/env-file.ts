/**
 * `--write-env`: sets REPLICATE_MODEL_VERSION in .env.local's text, and comments out a set
 * REPLICATE_MODEL / REPLICATE_DEPLOYMENT there, since the route wants exactly one of the three.
 * Pure: text in, text out. Other lines, comments and their order are kept.
 */

export const VERSION_VARIABLE = "REPLICATE_MODEL_VERSION";
export const OTHER_TARGET_VARIABLES = ["REPLICATE_MODEL", "REPLICATE_DEPLOYMENT"] as const;

const assignment = (name: string) => new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=(.*)$`);

export function withModelVersion(envText: string, value: string): string {
  const lines = envText === "" ? [] : envText.replace(/\r?\n$/, "").split(/\r?\n/);
  let found = false;
  const updated = lines.map((line) => {
    if (assignment(VERSION_VARIABLE).test(line)) {
      found = true;
      return `${VERSION_VARIABLE}=${value}`;
    }
    for (const name of OTHER_TARGET_VARIABLES) {
      const match = assignment(name).exec(line);
      if (match && unquote(match[1]) !== "") return `# ${line.trim()} (replaced by ${VERSION_VARIABLE}, npm run model)`;
    }
    return line;
  });
  if (!found) updated.push(`${VERSION_VARIABLE}=${value}`);
  return `${updated.join("\n")}\n`;
}

/** Whether the text assigns a non-empty value to the variable. */
export function setsVariable(envText: string, name: string): boolean {
  return envText.split(/\r?\n/).some((line) => {
    const match = assignment(name).exec(line);
    return match !== null && unquote(match[1]) !== "";
  });
}

function unquote(raw: string): string {
  const value = raw.replace(/\s+#.*$/, "").trim();
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}
