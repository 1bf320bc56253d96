// The floor: the least a Next.js route can do to run a prediction. It forwards the body it gets
// (a create body) to the simulated Replicate with `fetch`, held with `Prefer: wait` like the
// project's route, and answers what came back. No validation, no retries, no polling.

export const dynamic = "force-dynamic";

export async function POST(request: Request): Promise<Response> {
  const url = `${process.env.REPLICATE_API_BASE_URL}/models/${process.env.REPLICATE_MODEL}/predictions`;
  const upstream = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${process.env.REPLICATE_API_TOKEN}`,
      "content-type": "application/json",
      prefer: "wait",
    },
    body: await request.text(),
    cache: "no-store",
  });
  return new Response(await upstream.text(), {
    status: upstream.status,
    headers: { "content-type": "application/json" },
  });
}
