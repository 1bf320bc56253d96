import { http, HttpResponse, type HttpHandler } from "msw";
import { DROP, type SimulatedReplicate } from "./simulated-replicate";

/**
 * msw handlers that hand every request for the API, its output files and its streams to the
 * simulator. Use with `setupServer(...simulatorHandlers(sim))` and `onUnhandledRequest: "error"`.
 */
export function simulatorHandlers(sim: SimulatedReplicate, baseUrl = "https://api.replicate.com/v1"): HttpHandler[] {
  const base = baseUrl.replace(/\/+$/, "");
  const origin = new URL(base).origin;
  sim.origin ??= origin;
  // Streams on their own host, as in production (api.replicate.com -> stream.replicate.com).
  const streamUrl = new URL(origin);
  streamUrl.hostname = `stream.${streamUrl.hostname.replace(/^api\./, "")}`;
  sim.streamOrigin ??= streamUrl.origin;
  const streamOrigin = sim.streamOrigin;

  const resolver = async ({ request }: { request: Request }) => {
    const answer = await sim.handle(request);
    return answer === DROP ? HttpResponse.error() : answer;
  };
  return [
    http.all(`${base}/*`, resolver),
    http.get(`${origin}/files/*`, resolver),
    http.get(`${origin}/stream/*`, resolver),
    // File streams live under /v1/files/ on the origin even when the API base has a prefix.
    ...(base === `${origin}/v1` ? [] : [http.get(`${origin}/v1/files/*`, resolver)]),
    ...(streamOrigin === origin
      ? []
      : [http.get(`${streamOrigin}/stream/*`, resolver), http.get(`${streamOrigin}/v1/files/*`, resolver)]),
  ];
}
