/**
 * `--write-env`: sets the route's model target in .env.local's text (REPLICATE_MODEL_VERSION, or
 * REPLICATE_DEPLOYMENT for a deployment), and comments out the other two there when set, since the
 * route wants exactly one of the three. Pure: text in, text out. Other lines, comments and their
 * order are kept.
 */

export const VERSION_VARIABLE = "REPLICATE_MODEL_VERSION";
export const DEPLOYMENT_VARIABLE = "REPLICATE_DEPLOYMENT";
export const TARGET_VARIABLES = ["REPLICATE_MODEL", VERSION_VARIABLE, DEPLOYMENT_VARIABLE] as const;
export type TargetVariable = (typeof TARGET_VARIABLES)[number];

const assignment = (name: string) => new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=(.*)$`);

/** The target variables other than `name`. */
export function otherTargets(name: TargetVariable): TargetVariable[] {
  return TARGET_VARIABLES.filter((other) => other !== name);
}

export function withTarget(envText: string, name: TargetVariable, value: string): string {
  const lines = envText === "" ? [] : envText.replace(/\r?\n$/, "").split(/\r?\n/);
  let found = false;
  const updated = lines.map((line) => {
    if (assignment(name).test(line)) {
      found = true;
      return `${name}=${value}`;
    }
    for (const other of otherTargets(name)) {
      const match = assignment(other).exec(line);
      if (match && unquote(match[1]) !== "") return `# ${line.trim()} (replaced by ${name}, npm run model)`;
    }
    return line;
  });
  if (!found) updated.push(`${name}=${value}`);
  return `${updated.join("\n")}\n`;
}

export function withModelVersion(envText: string, value: string): string {
  return withTarget(envText, VERSION_VARIABLE, value);
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
