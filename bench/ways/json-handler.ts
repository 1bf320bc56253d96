/**
 * The minimal node:http handler the official client and the seed's algorithm sit behind, so each
 * pays the same HTTP hop as the route: read the JSON body, run, answer JSON. No framework, no
 * validation: a floor for what a handler can cost. Listens on 127.0.0.1:$PORT.
 */
import { createServer, type IncomingMessage } from "node:http";

export interface HandlerAnswer {
  status: number;
  body: unknown;
}

export function serveJsonHandler(run: (body: Record<string, unknown>) => Promise<HandlerAnswer>): void {
  const port = Number(process.env.PORT);
  const server = createServer({ keepAlive: true }, async (req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    let answer: HandlerAnswer;
    try {
      answer = await run(JSON.parse(await readBody(req)) as Record<string, unknown>);
    } catch (error) {
      // Where a Next.js route would answer its generic 500.
      answer = { status: 500, body: { title: "Internal Server Error", detail: String(error), status: 500 } };
    }
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  });
  server.keepAliveTimeout = 65_000;
  server.listen({ port, host: "127.0.0.1", backlog: 4096 });
  process.on("SIGTERM", () => process.exit(0));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
