/**
 * A fast text-to-image model in the manner of black-forest-labs/flux-schnell: aspect ratio and
 * output format as enums, up to four images a prediction, an array of file URLs out. Two versions:
 * the newer one adds `go_fast` and the png format, so a regenerated schema.ts shows just that.
 */
import { cogOpenApiSchema, enumRef, simulatedModel, type CogSchemaParts, type ModelVersion } from "./cog-schema";

const COMMON_INPUT: CogSchemaParts["input"] = {
  prompt: { type: "string", title: "Prompt", "x-order": 0, description: "Prompt for generated image" },
  aspect_ratio: {
    ...enumRef("aspect_ratio"),
    default: "1:1",
    "x-order": 1,
    description: "Aspect ratio for the generated image",
  },
  num_outputs: {
    type: "integer",
    title: "Num Outputs",
    default: 1,
    minimum: 1,
    maximum: 4,
    "x-order": 2,
    description: "Number of outputs to generate",
  },
  output_format: {
    ...enumRef("output_format"),
    default: "webp",
    "x-order": 3,
    description: "Format of the output images",
  },
  seed: { type: "integer", title: "Seed", "x-order": 5, description: "Random seed. Set for reproducible generation" },
};

const ASPECT_RATIOS = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"];
const OUTPUT = { type: "array", items: { type: "string", format: "uri" } };

export const FAST_IMAGE_FIRST_VERSION: ModelVersion = {
  id: "08032bb9ec5e0cd4210925537fae3940107c951952bae98b86eebd726aa6f64b",
  created_at: "2026-01-12T08:00:00.000000Z",
  cog_version: "0.13.6",
  openapi_schema: cogOpenApiSchema({
    required: ["prompt"],
    input: COMMON_INPUT,
    output: OUTPUT,
    enums: { aspect_ratio: ASPECT_RATIOS, output_format: ["webp", "jpg"] },
  }),
};

export const FAST_IMAGE_VERSION: ModelVersion = {
  id: "93d41647b72ae4c7ba6867d2570935b470f00aa53c2a825343392d8d2709a17c",
  created_at: "2026-04-20T14:30:00.000000Z",
  cog_version: "0.14.3",
  openapi_schema: cogOpenApiSchema({
    required: ["prompt"],
    input: {
      ...COMMON_INPUT,
      go_fast: {
        type: "boolean",
        title: "Go Fast",
        default: true,
        "x-order": 4,
        description: "Run faster predictions with a model optimized for speed (currently fp8 quantized)",
      },
    },
    output: OUTPUT,
    enums: { aspect_ratio: ASPECT_RATIOS, output_format: ["webp", "jpg", "png"] },
  }),
};

export const FAST_IMAGE_MODEL = simulatedModel(
  {
    owner: "simulated",
    name: "fast-image",
    description: "A fast text-to-image model: four steps, up to four images.",
    run_count: 48_211_093,
    is_official: true,
    license_url: "https://www.apache.org/licenses/LICENSE-2.0",
  },
  FAST_IMAGE_VERSION,
);
