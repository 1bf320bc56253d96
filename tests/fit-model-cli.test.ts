// npm run model against Replicate's model endpoints (msw serving the simulated catalogue): what it
// writes, when it writes nothing, and the messages it fails with.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "@/dev/fit-model/cli";
import { withModelVersion } from "@/dev/fit-model/env-file";
import { generateSchemaFile } from "@/dev/fit-model/generate";
import {
  cogOpenApiSchema,
  FAST_IMAGE_FIRST_VERSION,
  FAST_IMAGE_MODEL,
  findSimulatedDeployment,
  findSimulatedModel,
  IMAGE_MODEL,
  modelVersions,
  simulatedModel,
  type SimulatedModel,
} from "@/dev/simulator/models";

const BASE = "https://replicate.test/v1";
const TOKEN = "r8_fit_model_test_token";
const OUT = "schema.ts";

// Served besides the catalogue: a model this generator must refuse (a required nested object).
const UNEXPRESSIBLE = simulatedModel(
  { owner: "acme", name: "graph-model", description: "Takes a graph." },
  {
    id: "b".repeat(64),
    created_at: "2026-01-01T00:00:00Z",
    cog_version: "0.14.3",
    openapi_schema: cogOpenApiSchema({
      input: { graph: { type: "object", "x-order": 0 } },
      required: ["graph"],
      output: { type: "string" },
    }),
  },
);

const NOT_FOUND = { detail: "Not found.", status: 404 };

function findModel(owner: string, name: string): SimulatedModel | undefined {
  return findSimulatedModel(owner, name) ?? (owner === "acme" && name === "graph-model" ? UNEXPRESSIBLE : undefined);
}

// Replicate's model endpoints over the catalogue, with its auth and its answers for the unknown and the private.
const server = setupServer(
  http.get(`${BASE}/models/:owner/:name`, ({ request, params }) => {
    if (request.headers.get("authorization") !== `Bearer ${TOKEN}`) return unauthenticated();
    if (params.owner === "someone")
      return HttpResponse.json({ detail: "You do not have permission to access this model.", status: 403 }, { status: 403 });
    const model = findModel(String(params.owner), String(params.name));
    return model ? HttpResponse.json(model) : HttpResponse.json(NOT_FOUND, { status: 404 });
  }),
  http.get(`${BASE}/models/:owner/:name/versions/:id`, ({ request, params }) => {
    if (request.headers.get("authorization") !== `Bearer ${TOKEN}`) return unauthenticated();
    const model = findModel(String(params.owner), String(params.name));
    const version = model && modelVersions(model).find((v) => v.id === params.id);
    return version ? HttpResponse.json(version) : HttpResponse.json(NOT_FOUND, { status: 404 });
  }),
  http.get(`${BASE}/deployments/:owner/:name`, ({ request, params }) => {
    if (request.headers.get("authorization") !== `Bearer ${TOKEN}`) return unauthenticated();
    const deployment = findSimulatedDeployment(String(params.owner), String(params.name));
    return deployment ? HttpResponse.json(deployment) : HttpResponse.json(NOT_FOUND, { status: 404 });
  }),
  http.get("https://offline.test/v1/*", () => HttpResponse.error()),
);

function unauthenticated() {
  return HttpResponse.json(
    { title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 },
    { status: 401 },
  );
}

let dir: string;
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fit-model-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(argv, {
    env: { REPLICATE_API_TOKEN: TOKEN, REPLICATE_API_BASE_URL: BASE, ...env },
    cwd: dir,
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
  });
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

const outFile = () => path.join(dir, OUT);
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

function expected(model: SimulatedModel, version = model.latest_version) {
  return generateSchemaFile({
    model: `${model.owner}/${model.name}`,
    version: version.id,
    openapiSchema: version.openapi_schema,
  }).source;
}

describe("npm run model writes schema.ts from the model's latest version or a named one", () => {
  it("writes the generated file and says which variable to set", async () => {
    const result = await run(["simulated/fast-image", "--out", OUT]);
    expect(result.code).toBe(0);
    expect(await readFile(outFile(), "utf8")).toBe(expected(FAST_IMAGE_MODEL));
    expect(result.stdout).toContain(`Wrote ${OUT} from simulated/fast-image:${FAST_IMAGE_MODEL.latest_version.id}`);
    expect(result.stdout).toContain(
      `Next: set REPLICATE_MODEL_VERSION=simulated/fast-image:${FAST_IMAGE_MODEL.latest_version.id} in .env.local`,
    );
  });

  it("writes nothing on a second run for the same version, and says it is unchanged", async () => {
    await run(["simulated/image-model", "--out", OUT]);
    const first = await stat(outFile());
    const again = await run(["simulated/image-model", "--out", OUT]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${OUT} unchanged`);
    expect((await stat(outFile())).ino).toBe(first.ino); // a write replaces the file by rename
  });

  it("reads a named version from /versions/{id}, and rewrites the file for another", async () => {
    const older = await run([`simulated/fast-image:${FAST_IMAGE_FIRST_VERSION.id}`, "--out", OUT]);
    expect(older.code).toBe(0);
    expect(await readFile(outFile(), "utf8")).toBe(expected(FAST_IMAGE_MODEL, FAST_IMAGE_FIRST_VERSION));
    await run(["simulated/fast-image", "--out", OUT]);
    expect(await readFile(outFile(), "utf8")).toBe(expected(FAST_IMAGE_MODEL));
  });

  it("uses the configured REPLICATE_MODEL_VERSION, or REPLICATE_MODEL, without an argument", async () => {
    const byVersion = await run(["--out", OUT], {
      REPLICATE_MODEL_VERSION: `simulated/fast-image:${FAST_IMAGE_FIRST_VERSION.id}`,
    });
    expect(byVersion.code).toBe(0);
    expect(await readFile(outFile(), "utf8")).toBe(expected(FAST_IMAGE_MODEL, FAST_IMAGE_FIRST_VERSION));
    const byModel = await run(["--out", OUT], { REPLICATE_MODEL: "simulated/image-model" });
    expect(byModel.code).toBe(0);
    expect(await readFile(outFile(), "utf8")).toBe(expected(IMAGE_MODEL));
  });

  it("writes to app/api/ai/replicate/schema.ts under its working directory by default", async () => {
    expect((await run(["simulated/image-model"])).code).toBe(0);
    expect(await readFile(path.join(dir, "app/api/ai/replicate/schema.ts"), "utf8")).toBe(expected(IMAGE_MODEL));
  });
});

describe("npm run model fails with a message a person can act on, and writes nothing", () => {
  it.each<[string, string[], Record<string, string | undefined>, string]>([
    ["an unknown model (404)", ["simulated/nope"], {}, "Replicate has no model simulated/nope (404)"],
    [
      "an unknown version (404)",
      [`simulated/fast-image:${"c".repeat(64)}`],
      {},
      `simulated/fast-image has no version ${"c".repeat(64)} (404)`,
    ],
    [
      "a refused token (401)",
      ["simulated/image-model"],
      { REPLICATE_API_TOKEN: "r8_wrong" },
      "Replicate refused the token (401)",
    ],
    [
      "a model the token may not read (403)",
      ["someone/private-model"],
      {},
      "Your token may not read someone/private-model (403)",
    ],
    [
      "no network",
      ["simulated/image-model"],
      { REPLICATE_API_BASE_URL: "https://offline.test/v1" },
      "Could not reach https://offline.test/v1",
    ],
    ["a schema it cannot express", ["acme/graph-model"], {}, "graph: required, but a nested object"],
    ["no token", ["simulated/image-model"], { REPLICATE_API_TOKEN: "" }, "REPLICATE_API_TOKEN is not set"],
    ["a bare version id", [], { REPLICATE_MODEL_VERSION: "d".repeat(64) }, "REPLICATE_MODEL_VERSION is a bare version id"],
  ])("for %s", async (_name, argv, env, message) => {
    await writeFile(outFile(), "// the user's own schema.ts\n");
    const result = await run([...argv, "--out", OUT, "--write-env"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("Nothing was written.");
    expect(await readFile(outFile(), "utf8")).toBe("// the user's own schema.ts\n");
    expect(await exists(path.join(dir, ".env.local"))).toBe(false);
  });

  it("never prints the token", async () => {
    for (const env of [{}, { REPLICATE_API_TOKEN: "r8_wrong_secret" }]) {
      const result = await run(["simulated/nope", "--out", OUT], env);
      expect(`${result.stdout}\n${result.stderr}`).not.toMatch(/r8_/);
    }
  });

  it("explains its arguments when they make no sense (exit 2)", async () => {
    const result = await run(["a/b", "c/d"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("One model at a time");
    expect(result.stderr).toContain("Usage: npm run model");
  });
});

describe("a deployment (deployment:owner/name) is fitted to the version its current release runs", () => {
  const deployed = `simulated/image-model:${IMAGE_MODEL.latest_version.id}`;

  it("writes that version's schema, recording the deployment, and names REPLICATE_DEPLOYMENT", async () => {
    const result = await run(["deployment:simulated/image-deployment", "--out", OUT]);
    expect(result.code).toBe(0);
    const written = await readFile(outFile(), "utf8");
    expect(written).toContain('  deployment: "simulated/image-deployment",');
    expect(written.replace('  deployment: "simulated/image-deployment",\n', "")).toBe(expected(IMAGE_MODEL));
    expect(result.stdout).toContain(`Wrote ${OUT} from ${deployed} (the deployment simulated/image-deployment runs it)`);
    expect(result.stdout).toContain("Next: set REPLICATE_DEPLOYMENT=simulated/image-deployment in .env.local");
  });

  it("reads REPLICATE_DEPLOYMENT when no model is named, and --write-env sets it in place of a version", async () => {
    const envFile = path.join(dir, ".env.local");
    await writeFile(envFile, `REPLICATE_MODEL_VERSION=${deployed}\n`);
    const result = await run(["--out", OUT, "--write-env"], { REPLICATE_DEPLOYMENT: "simulated/image-deployment" });
    expect(result.code).toBe(0);
    expect(await readFile(envFile, "utf8")).toBe(
      `# REPLICATE_MODEL_VERSION=${deployed} (replaced by REPLICATE_DEPLOYMENT, npm run model)\nREPLICATE_DEPLOYMENT=simulated/image-deployment\n`,
    );
    expect(result.stdout).toContain("Wrote REPLICATE_DEPLOYMENT=simulated/image-deployment to .env.local");
  });

  it("says so when the deployment does not exist, and writes nothing", async () => {
    const result = await run(["deployment:simulated/no-such-deployment", "--out", OUT]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Replicate has no deployment simulated/no-such-deployment (404)");
    expect(await exists(outFile())).toBe(false);
  });
});

describe("--write-env sets REPLICATE_MODEL_VERSION in .env.local", () => {
  it("replaces its value, comments out a competing REPLICATE_MODEL, and keeps everything else", async () => {
    const envFile = path.join(dir, ".env.local");
    await writeFile(
      envFile,
      "# mine\nREPLICATE_API_TOKEN=r8_x\nREPLICATE_MODEL=simulated/image-model\nREPLICATE_MODEL_VERSION=\nREPLICATE_DEPLOYMENT=\n",
    );
    const result = await run(["simulated/fast-image", "--out", OUT, "--write-env"]);
    expect(result.code).toBe(0);
    const target = `simulated/fast-image:${FAST_IMAGE_MODEL.latest_version.id}`;
    expect(await readFile(envFile, "utf8")).toBe(
      "# mine\nREPLICATE_API_TOKEN=r8_x\n" +
        "# REPLICATE_MODEL=simulated/image-model (replaced by REPLICATE_MODEL_VERSION, npm run model)\n" +
        `REPLICATE_MODEL_VERSION=${target}\nREPLICATE_DEPLOYMENT=\n`,
    );
    expect(result.stdout).toContain(
      `Wrote REPLICATE_MODEL_VERSION=${target} to .env.local (commented out REPLICATE_MODEL there).`,
    );
    // Done, not a thing left to do.
    expect(result.stdout).not.toMatch(/\bset REPLICATE_MODEL_VERSION/i);
  });

  it("creates .env.local when there is none, and warns of a competing variable set elsewhere", async () => {
    const result = await run(["simulated/image-model", "--out", OUT, "--write-env"], {
      REPLICATE_DEPLOYMENT: "acme/prod",
    });
    expect(await readFile(path.join(dir, ".env.local"), "utf8")).toBe(
      `REPLICATE_MODEL_VERSION=simulated/image-model:${IMAGE_MODEL.latest_version.id}\n`,
    );
    expect(result.stderr).toContain("REPLICATE_DEPLOYMENT is also set");
  });

  it("appends to a file without a final newline, and changes nothing when the value is already there", () => {
    expect(withModelVersion("A=1", "o/n:v")).toBe("A=1\nREPLICATE_MODEL_VERSION=o/n:v\n");
    const once = withModelVersion("export REPLICATE_MODEL_VERSION=old\n", "o/n:v");
    expect(once).toBe("REPLICATE_MODEL_VERSION=o/n:v\n");
    expect(withModelVersion(once, "o/n:v")).toBe(once);
  });
});
