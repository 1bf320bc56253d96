/**
 * The seed's default model (`simulated/image-model`, the one the committed schema.ts was written
 * for): a prompt, an optional seed and style, and an optional image to start from.
 */
import { SIMULATED_VERSION_ID } from "../ids";
import { cogOpenApiSchema, simulatedModel, type ModelVersion } from "./cog-schema";

export const IMAGE_MODEL_VERSION: ModelVersion = {
  id: SIMULATED_VERSION_ID,
  created_at: "2026-03-02T10:15:00.000000Z",
  cog_version: "0.14.3",
  openapi_schema: cogOpenApiSchema({
    required: ["prompt"],
    input: {
      prompt: { type: "string", title: "Prompt", "x-order": 0, description: "What to draw." },
      seed: {
        type: "integer",
        title: "Seed",
        minimum: 0,
        "x-order": 1,
        description: "Random seed. Leave blank to randomize.",
      },
      style: { type: "string", title: "Style", "x-order": 2, description: "A style name such as anime or watercolor." },
      image: { type: "string", title: "Image", format: "uri", "x-order": 3, description: "An image to start from." },
    },
    output: { type: "array", items: { type: "string", format: "uri" } },
  }),
};

export const IMAGE_MODEL = simulatedModel(
  {
    owner: "simulated",
    name: "image-model",
    description: "The simulated image model the seed runs.",
    run_count: 1204,
    is_official: true,
  },
  IMAGE_MODEL_VERSION,
);
