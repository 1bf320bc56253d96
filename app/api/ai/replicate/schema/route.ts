// GET /api/ai/replicate/schema: the body POST accepts (and the model's output) as JSON Schema, for the page's form.
import { replicate } from "@/lib/replicate";

export const GET = replicate.schema;
