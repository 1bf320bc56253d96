/**
 * What the page says when the app talks to the simulated Replicate (`npm run demo`, the tests):
 * that it does, and how a prompt steers it. The server decides (it alone knows its base URL and
 * token) and answers this beside the schema; the token itself never leaves the server.
 */

/** The simulator's token (dev/simulator accepts it by default; the demo and the tests send it). */
export const SIMULATED_REPLICATE_TOKEN = "r8_simulated_token";

export const REPLICATE_API_BASE_URL = "https://api.replicate.com/v1";

export type PromptDirective = { directive: string; effect: string };

/** The bracketed words of dev/simulator/prompt-directives.ts, in words (a test keeps the two in step). */
export const PROMPT_DIRECTIVES: readonly PromptDirective[] = [
  { directive: "[fail]", effect: "fails" },
  { directive: "[never]", effect: "never ends (try Cancel)" },
  { directive: "[run:4000]", effect: "runs 4 s" },
  { directive: "[boot:800]", effect: "starts in 0.8 s" },
  { directive: "[refiner]", effect: "adds a refiner pass" },
  { directive: "[text]", effect: "streams text" },
];

/** What the schema route answers as `simulator`: null when the app talks to Replicate. */
export type SimulatorInfo = { directives: readonly PromptDirective[] } | null;

/**
 * The simulated Replicate: the simulator's token, sent anywhere but Replicate's API. A real token
 * (or Replicate's own base URL) is never taken for the simulator.
 */
export function isSimulatedReplicate(config: { token: string; baseUrl: string }): boolean {
  return config.token === SIMULATED_REPLICATE_TOKEN && config.baseUrl.replace(/\/+$/, "") !== REPLICATE_API_BASE_URL;
}

export function simulatorInfo(config: { token: string; baseUrl: string }): SimulatorInfo {
  return isSimulatedReplicate(config) ? { directives: PROMPT_DIRECTIVES } : null;
}
