/**
 * Bracketed words in a prompt steer the simulated model, so demos and end-to-end tests can ask for
 * a failure or a slow run through the real route without reaching into the simulator.
 */

export interface PromptDirectives {
  /** `[fail]`: the run ends `failed` with an error. */
  fail: boolean;
  /** `[never]`: the run never ends on its own. */
  never: boolean;
  /** `[text]`: a language model; output is a growing array of tokens and `urls.stream` is set. */
  text: boolean;
  /** `[refiner]`: a second progress bar (refiner pass) after the base pass. */
  refiner: boolean;
  /** `[run:1500]`: processing lasts this many ms. */
  runMs: number | null;
  /** `[boot:800]`: starting lasts this many ms. */
  bootMs: number | null;
}

const DIRECTIVE = /\[(fail|never|text|refiner|run:\d+|boot:\d+)\]/g;

export function parseDirectives(prompt: string): PromptDirectives {
  const found = new Set(Array.from(prompt.matchAll(DIRECTIVE), (m) => m[1]));
  return {
    fail: found.has("fail"),
    never: found.has("never"),
    text: found.has("text"),
    refiner: found.has("refiner"),
    runMs: numberAfter(found, "run:"),
    bootMs: numberAfter(found, "boot:"),
  };
}

/** The prompt as a person wrote it, without the directives. */
export function stripDirectives(prompt: string): string {
  return prompt.replace(DIRECTIVE, "").replace(/\s+/g, " ").trim();
}

function numberAfter(found: Set<string>, prefix: string): number | null {
  for (const directive of found) {
    if (directive.startsWith(prefix)) return Number(directive.slice(prefix.length));
  }
  return null;
}

/** The simulated language model's reply, as tokens the way LLM streams send them (leading spaces). */
export function replyTokens(prompt: string): string[] {
  const echoed = stripDirectives(prompt).split(" ").filter(Boolean).slice(0, 24);
  const words = ["Simulated", "reply", "to:", ...echoed, "(end", "of", "reply)"];
  return words.map((word, i) => (i === 0 ? word : ` ${word}`));
}
