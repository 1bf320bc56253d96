/** An image-to-image model: a required image and prompt, a strength, steps and guidance; one file out. */
import { cogOpenApiSchema, simulatedModel, type ModelVersion } from "./cog-schema";

export const IMAGE_EDIT_VERSION: ModelVersion = {
  id: "de950401be6403377caba37240e55342dd7eaa93a5c562fe3b8b406e31370bb6",
  created_at: "2026-02-08T19:42:11.000000Z",
  cog_version: "0.14.1",
  openapi_schema: cogOpenApiSchema({
    required: ["image", "prompt"],
    input: {
      image: { type: "string", title: "Image", format: "uri", "x-order": 0, description: "Input image to transform" },
      prompt: { type: "string", title: "Prompt", "x-order": 1, description: "What the image should become" },
      negative_prompt: {
        type: "string",
        title: "Negative Prompt",
        default: "",
        "x-order": 2,
        description: "Things you do not want to see",
      },
      strength: {
        type: "number",
        title: "Strength",
        default: 0.8,
        minimum: 0,
        maximum: 1,
        "x-order": 3,
        description: "How much to change the input image: 1.0 ignores it entirely",
      },
      num_inference_steps: {
        type: "integer",
        title: "Num Inference Steps",
        default: 28,
        minimum: 1,
        maximum: 50,
        "x-order": 4,
        description: "Number of denoising steps",
      },
      guidance_scale: {
        type: "number",
        title: "Guidance Scale",
        default: 3.5,
        minimum: 0,
        maximum: 20,
        "x-order": 5,
        description: "How closely to follow the prompt",
      },
      seed: {
        type: "integer",
        title: "Seed",
        "x-order": 6,
        description: "Random seed. Leave blank to randomize the seed",
      },
    },
    output: { type: "string", format: "uri" },
  }),
};

export const IMAGE_EDIT_MODEL = simulatedModel(
  {
    owner: "simulated",
    name: "image-edit",
    description: "Transforms an image following a prompt.",
    run_count: 912_345,
  },
  IMAGE_EDIT_VERSION,
);
