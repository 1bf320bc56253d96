// The configuration reference (docs/configuration.md, .env.example) is written from the zod schemas
// that parse the environment: it says what the code does, and this file fails when it no longer does.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_COMMAND, configReferenceFiles, configVariables, SECTIONS } from "@/dev/config-reference/config-reference";
import { ENV_NAMES, GUARD_ENV_NAMES } from "@/lib/server/config";
import { REDIS_ENV_NAMES } from "@/lib/server/shared-state/redis-config";
import { STORAGE_ENV_NAMES } from "@/lib/server/storage/storage-config";

const root = join(import.meta.dirname, "..");

describe("the configuration reference is generated from the schemas", () => {
  it.each(configReferenceFiles())("$path is up to date", ({ path, text }) => {
    const current = readFileSync(join(root, path), "utf8");
    if (current !== text) {
      expect.fail(`${path} is stale: run \`${CONFIG_COMMAND}\` and commit the result.`);
    }
  });

  it("lists every variable the configuration reads, each once and with a meaning", () => {
    const variables = configVariables();
    const names = variables.map((variable) => variable.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [...ENV_NAMES, ...GUARD_ENV_NAMES, ...REDIS_ENV_NAMES, ...STORAGE_ENV_NAMES]) {
      expect(names, `${name} is read but not in the reference`).toContain(name);
    }
    for (const variable of variables) expect(variable.description.length, variable.name).toBeGreaterThan(20);
  });

  it("reads defaults and bounds from the schemas themselves", () => {
    const byName = new Map(configVariables().map((variable) => [variable.name, variable]));
    expect(byName.get("REPLICATE_API_TOKEN")).toMatchObject({ required: true, defaultValue: undefined });
    expect(byName.get("REPLICATE_POLL_INTERVAL_MS")).toMatchObject({
      defaultValue: "1000",
      accepts: "whole number, 1 to 600000",
    });
    expect(byName.get("REPLICATE_TIMEOUT_SECONDS")).toMatchObject({ defaultValue: "60", accepts: "number, 0.001 to 86395" });
    expect(byName.get("REPLICATE_API_BASE_URL")).toMatchObject({ defaultValue: "https://api.replicate.com/v1" });
    expect(byName.get("OUTPUT_STORAGE")).toMatchObject({ defaultValue: "off", accepts: "`off`, `fs` or `s3`" });
    expect(byName.get("REPLICATE_BODY_BUDGET_BYTES")?.accepts).toBe("whole number, at least 1048576 (1 MiB)");
    expect(byName.get("APP_ORIGIN")).toMatchObject({ required: false, defaultValue: undefined });
    expect(byName.get("REDIS_KEY_PREFIX")?.defaultValue).toBe("replicate-next-route:");
  });

  it("documents every schema the environment is parsed with", () => {
    const parsed = ["app", "lib"]
      .flatMap((folder) => sourceFiles(join(root, folder)))
      .flatMap((file) =>
        [...readFileSync(file, "utf8").matchAll(/parseEnv\((\w+)/g)].map(
          (match) => `${file.slice(root.length + 1)}: ${match[1]}`,
        ),
      );
    expect(parsed.length).toBeGreaterThanOrEqual(SECTIONS.length);
    const documented = new Set(SECTIONS.map((section) => section.schemaName));
    const missing = parsed.filter((call) => !documented.has(call.split(": ")[1]));
    expect(missing, "add these schemas to SECTIONS in dev/config-reference/config-reference.ts").toEqual([]);
  });

  it("no code of the app reads process.env around the schemas", () => {
    const files = ["app", "lib"].flatMap((folder) => sourceFiles(join(root, folder)));
    const reads = files.flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/process\.env\.([A-Z0-9_]+)|process\.env\[["']([A-Z0-9_]+)["']\]/g)].map(
        (match) => `${file.slice(root.length + 1)}: ${match[1] ?? match[2]}`,
      ),
    );
    const documented = new Set(configVariables().map((variable) => variable.name));
    const runtime = new Set(["NODE_ENV", "NEXT_RUNTIME"]);
    expect(reads.filter((read) => !documented.has(read.split(": ")[1]) && !runtime.has(read.split(": ")[1]))).toEqual([]);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}
