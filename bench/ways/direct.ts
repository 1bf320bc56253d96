import { BENCH_MODEL, BENCH_TOKEN, type RunningWay, type WayContext } from "./way";

/** No server in between: the caller creates on the simulator itself, held with `Prefer: wait`. */
export function directWay(context: WayContext): RunningWay {
  const url = `${context.simBaseUrl}/models/${BENCH_MODEL}/predictions`;
  return {
    name: "direct",
    pid: null,
    call: (caller, prompt) => caller.post(url, { input: { prompt } }, { authorization: `Bearer ${BENCH_TOKEN}`, prefer: "wait" }),
    stop: async () => {},
  };
}
