/**
 * The simulated models: each as GET /models/{owner}/{name} answers it (with
 * `latest_version.openapi_schema`), and every version each has, for GET .../versions/{id}.
 */
import type { ModelVersion, SimulatedModel } from "./cog-schema";
import { FAST_IMAGE_FIRST_VERSION, FAST_IMAGE_MODEL } from "./fast-image";
import { IMAGE_EDIT_MODEL } from "./image-edit";
import { IMAGE_MODEL } from "./image-model";
import { LANGUAGE_MODEL } from "./language-model";
import { SPEECH_TO_TEXT_MODEL } from "./speech-to-text";

export * from "./cog-schema";
export { IMAGE_MODEL, IMAGE_MODEL_VERSION } from "./image-model";
export { FAST_IMAGE_MODEL, FAST_IMAGE_VERSION, FAST_IMAGE_FIRST_VERSION } from "./fast-image";
export { IMAGE_EDIT_MODEL, IMAGE_EDIT_VERSION } from "./image-edit";
export { LANGUAGE_MODEL, LANGUAGE_MODEL_VERSION } from "./language-model";
export { SPEECH_TO_TEXT_MODEL, SPEECH_TO_TEXT_VERSION } from "./speech-to-text";

export const SIMULATED_MODELS: readonly SimulatedModel[] = [
  IMAGE_MODEL,
  FAST_IMAGE_MODEL,
  IMAGE_EDIT_MODEL,
  LANGUAGE_MODEL,
  SPEECH_TO_TEXT_MODEL,
];

const EARLIER_VERSIONS: ReadonlyMap<SimulatedModel, readonly ModelVersion[]> = new Map([
  [FAST_IMAGE_MODEL, [FAST_IMAGE_FIRST_VERSION]],
]);

/** A model's versions, newest first (GET /models/{owner}/{name}/versions lists them so). */
export function modelVersions(model: SimulatedModel): readonly ModelVersion[] {
  return [model.latest_version, ...(EARLIER_VERSIONS.get(model) ?? [])];
}

export function findSimulatedModel(owner: string, name: string): SimulatedModel | undefined {
  return SIMULATED_MODELS.find((model) => model.owner === owner && model.name === name);
}

/** A catalogue model and the version of it a prediction runs. */
export interface CatalogueVersion {
  model: SimulatedModel;
  version: ModelVersion;
}

/** The model a bare version id belongs to, as Replicate names it in the prediction. */
export function findVersionById(id: string): CatalogueVersion | undefined {
  for (const model of SIMULATED_MODELS) {
    const version = modelVersions(model).find((candidate) => candidate.id === id);
    if (version) return { model, version };
  }
  return undefined;
}

/**
 * The catalogue version a create runs: `hidden` (the models endpoint, a bare `owner/name`) is the
 * model's latest. Undefined for a model outside the catalogue; "unknown" for a version it lacks.
 */
export function catalogueVersion(model: string, version: string): CatalogueVersion | "unknown" | undefined {
  const [owner, name] = model.split("/");
  const found = findSimulatedModel(owner, name);
  if (!found) return undefined;
  if (version === "hidden") return { model: found, version: found.latest_version };
  const match = modelVersions(found).find((candidate) => candidate.id === version);
  return match ? { model: found, version: match } : "unknown";
}

/** GET /account: the simulated token's account. */
export const SIMULATED_ACCOUNT = {
  type: "user",
  username: "simulated",
  name: "Simulated User",
  github_url: null,
} as const;

/** GET /deployments/{owner}/{name} (replicate-openapi.json: deployments.get): its current release runs a catalogue version. */
export interface SimulatedDeployment {
  owner: string;
  name: string;
  current_release: {
    number: number;
    model: string;
    version: string;
    created_at: string;
    created_by: typeof SIMULATED_ACCOUNT;
    configuration: { hardware: string; min_instances: number; max_instances: number };
  };
}

export const SIMULATED_DEPLOYMENTS: readonly SimulatedDeployment[] = [
  {
    owner: "simulated",
    name: "image-deployment",
    current_release: {
      number: 3,
      model: `${IMAGE_MODEL.owner}/${IMAGE_MODEL.name}`,
      version: IMAGE_MODEL.latest_version.id,
      created_at: "2026-03-02T09:14:27.000000Z",
      created_by: SIMULATED_ACCOUNT,
      configuration: { hardware: "gpu-l40s", min_instances: 0, max_instances: 2 },
    },
  },
];

export function findSimulatedDeployment(owner: string, name: string): SimulatedDeployment | undefined {
  return SIMULATED_DEPLOYMENTS.find((deployment) => deployment.owner === owner && deployment.name === name);
}
