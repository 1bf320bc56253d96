import Replicate from "replicate";
import { serveJsonHandler } from "./json-handler";

/**
 * Child process: the official `replicate` npm client behind the minimal handler, the way Replicate's
 * Next.js template uses it: `replicate.run()` in its default block mode (create with `Prefer: wait`,
 * then poll). The answer is the last prediction its progress callback saw, so the caller learns the
 * id and status; 200 only when that prediction succeeded.
 */
interface ApiErrorLike {
  message: string;
  response?: { status: number };
}

const replicate = new Replicate({
  auth: process.env.REPLICATE_API_TOKEN,
  baseUrl: process.env.REPLICATE_API_BASE_URL,
  useFileOutput: false,
});
const model = process.env.REPLICATE_MODEL as `${string}/${string}`;

serveJsonHandler(async (body) => {
  let last: { status?: string } | undefined;
  try {
    await replicate.run(model, { input: { prompt: body.prompt } }, (prediction) => {
      last = prediction;
    });
  } catch (error) {
    const status = (error as ApiErrorLike).response?.status;
    if (status) return { status, body: { title: "Replicate error", detail: (error as ApiErrorLike).message, status } };
    if (!last) throw error;
  }
  return { status: last?.status === "succeeded" ? 200 : 500, body: last };
});
