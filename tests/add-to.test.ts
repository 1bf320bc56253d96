import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { routeFiles, runAddTo } from "@/dev/add-to/add-to";
import { appendMissingVariables } from "@/dev/add-to/env-example";
import { walkImports } from "@/dev/add-to/import-walk";
import { mergeDependencies } from "@/dev/add-to/package-merge";

// A small project shaped like this one (routes under app/api/ai/replicate/, the engine in lib/, a
// demo page), and small apps shaped like create-next-app's, in a temp folder.
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writeTree(root: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "add-to-"));
  made.push(dir);
  return dir;
}

const PROJECT_FILES = {
  "package.json": JSON.stringify({
    dependencies: {
      axios: "^1.21.1",
      ioredis: "^6.0.0",
      zod: "^4.6.7",
      react: "^19.3.1",
      "react-dom": "^19.3.1",
      busboy: "^1.6.0",
      next: "^16.4.6",
      "@opentelemetry/sdk-node": "^0.223.0",
    },
    devDependencies: { "@types/busboy": "^1.5.5", typescript: "^5.9.3" },
  }),
  ".env.example":
    "# Header of the file.\n\n# ---- Replicate ----\n\n# The token.\nREPLICATE_API_TOKEN=\n\n# The model.\nREPLICATE_MODEL=\n",
  "app/api/ai/replicate/route.ts": [
    'import { run } from "@/lib/server/run";',
    'import { requestBodySchema } from "./schema";',
    'export const runtime = "nodejs";',
    'export const dynamic = "force-dynamic";',
    "export const maxDuration = 65;",
    "export const POST = run(requestBodySchema);",
    "",
  ].join("\n"),
  "app/api/ai/replicate/schema.ts": 'import { z } from "zod";\nexport const requestBodySchema = z.object({});\n',
  "app/api/ai/replicate/[id]/route.ts": 'import { run } from "../../../../../lib/server/run";\nexport const GET = run(null);\n',
  "lib/server/run.ts": [
    'import { readFileSync } from "node:fs";',
    'import axios from "axios";',
    'import type Busboy from "busboy";',
    'import { statusOf } from "../shared/status";',
    'export * from "./store";',
    "export const run = (_: unknown) => async () => Response.json(statusOf(String(readFileSync)));",
    "",
  ].join("\n"),
  "lib/server/store.ts": 'export async function redis() {\n  return (await import("ioredis")).default;\n}\n',
  "lib/shared/status.ts": "export const statusOf = (text: string) => text.length;\n",
  "lib/shared/unused.ts": 'import "left-pad";\n',
  "lib/browser/view.ts": 'import { statusOf } from "@/lib/shared/status";\nexport const view = statusOf;\n',
  "app/page.tsx": 'import { Panel } from "./_components/panel";\nexport default function Page() {\n  return <Panel />;\n}\n',
  "app/_components/panel.tsx":
    '"use client";\nimport { useState } from "react";\nimport { view } from "@/lib/browser/view";\nexport function Panel() {\n  return <p>{view(String(useState))}</p>;\n}\n',
  "app/globals.css": "body { margin: 0; }\n",
  "instrumentation.ts": 'export async function register() {\n  await (await import("./lib/server/otel")).start();\n}\n',
  "lib/server/otel.ts": 'export const start = async () => import("@opentelemetry/sdk-node");\n',
};

function makeProject(): string {
  const root = tempDir();
  writeTree(root, PROJECT_FILES);
  return root;
}

/** An app as create-next-app makes it: `src` with an alias, or the root; `alias` null for none. */
function makeApp(options: {
  src: boolean;
  alias: string | null;
  cacheComponents?: boolean;
  extra?: Record<string, string>;
}): string {
  const dir = tempDir();
  const root = options.src ? "src/" : "";
  writeTree(dir, {
    "package.json": JSON.stringify(
      {
        name: "their-app",
        dependencies: { next: "16.4.3", react: "19.3.0", "react-dom": "19.3.0", zod: "^4.1.0" },
        devDependencies: { typescript: "^5" },
      },
      null,
      2,
    ),
    "tsconfig.json": `{\n  // comments allowed, as TypeScript allows them\n  "compilerOptions": {\n    "strict": true${
      options.alias ? `,\n    "paths": { "${options.alias}*": ["./${root}*"] }` : ""
    }\n  }\n}\n`,
    "next.config.ts": `export default { ${options.cacheComponents ? "cacheComponents: true" : ""} };\n`,
    [`${root}app/page.tsx`]: "export default function Home() {\n  return <main />;\n}\n",
    [`${root}app/layout.tsx`]:
      "export default function Layout({ children }: { children: React.ReactNode }) {\n  return children;\n}\n",
    ...options.extra,
  });
  return dir;
}

function run(project: string, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runAddTo(args, { stdout: (line) => out.push(line), stderr: (line) => err.push(line), cwd: "/" }, project);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), "utf8");

describe("the import walk", () => {
  it("follows @/, relative, re-exported and dynamic imports, and nothing the entries do not reach", () => {
    const walk = walkImports(makeProject(), ["app/api/ai/replicate/route.ts"]);
    expect(walk.files).toEqual([
      "app/api/ai/replicate/route.ts",
      "app/api/ai/replicate/schema.ts",
      "lib/server/run.ts",
      "lib/server/store.ts",
      "lib/shared/status.ts",
    ]);
  });

  it("names each package once, without its subpath, and leaves Node's own modules out", () => {
    const root = makeProject();
    writeFileSync(
      path.join(root, "lib/shared/status.ts"),
      'import { s3 } from "@aws-sdk/client-s3/dist";\nimport "path";\nexport const statusOf = s3;\n',
    );
    expect(walkImports(root, ["app/api/ai/replicate/route.ts"]).packages).toEqual([
      "@aws-sdk/client-s3",
      "axios",
      "busboy",
      "ioredis",
      "zod",
    ]);
  });

  it("names the file and the import when an import names no file", () => {
    const root = makeProject();
    writeFileSync(path.join(root, "lib/shared/status.ts"), 'export { gone } from "./gone";\n');
    expect(() => walkImports(root, ["app/api/ai/replicate/route.ts"])).toThrow('lib/shared/status.ts imports "./gone"');
  });
});

describe("imports rewritten for the app", () => {
  it("writes @/ imports with the app's own alias for src/ (create-next-app --src-dir --import-alias '~/*')", () => {
    const app = makeApp({ src: true, alias: "~/" });
    expect(run(makeProject(), [app]).code).toBe(0);
    const route = read(app, "src/app/api/ai/replicate/route.ts");
    expect(route).toContain('import { run } from "~/lib/server/run";');
    expect(route).toContain('from "./schema"');
    expect(read(app, "src/app/api/ai/replicate/[id]/route.ts")).toContain('from "../../../../../lib/server/run"');
    expect(read(app, "src/lib/server/run.ts")).toContain('from "../shared/status"');
    expect(existsSync(path.join(app, "src/lib/shared/unused.ts"))).toBe(false);
  });

  it("keeps @/ where the app's @/ names its root (no src/)", () => {
    const app = makeApp({ src: false, alias: "@/" });
    run(makeProject(), [app]);
    expect(read(app, "app/api/ai/replicate/route.ts")).toContain('from "@/lib/server/run"');
  });

  it("writes relative paths when no alias names the app's code folder", () => {
    const app = makeApp({ src: true, alias: null });
    const { out } = run(makeProject(), [app]);
    expect(read(app, "src/app/api/ai/replicate/route.ts")).toContain('from "../../../../lib/server/run"');
    expect(out).toContain("imports written relative");
  });

  it("puts the demo page under --page and rewrites its imports from there, styles included", () => {
    const app = makeApp({ src: false, alias: "@/" });
    expect(run(makeProject(), [app, "--page", "tools/replicate"]).code).toBe(0);
    const page = read(app, "app/tools/replicate/page.tsx");
    expect(page).toContain('import "./replicate-demo.css";');
    expect(page).toContain('from "./_components/panel"');
    expect(read(app, "app/tools/replicate/_components/panel.tsx")).toContain('from "@/lib/browser/view"');
    expect(read(app, "app/tools/replicate/replicate-demo.css")).toBe("body { margin: 0; }\n");
    expect(read(app, "app/page.tsx")).toContain("Home"); // theirs, untouched
  });

  it("refuses a --page path outside the app's pages", () => {
    const { code, err } = run(makeProject(), [makeApp({ src: false, alias: "@/" }), "--page", "../x"]);
    expect(code).toBe(1);
    expect(err).toContain("--page ../x");
  });

  it("drops the route segment config Cache Components refuses, and only where it is on", () => {
    const project = makeProject();
    const cached = makeApp({ src: false, alias: "@/", cacheComponents: true });
    const { out } = run(project, [cached]);
    const route = read(cached, "app/api/ai/replicate/route.ts");
    expect(route).not.toMatch(/export const (runtime|dynamic)/);
    expect(route).toContain("export const maxDuration = 65;");
    expect(out).toContain("dropped `runtime`, `dynamic`");
    const plain = makeApp({ src: false, alias: "@/" });
    run(project, [plain]);
    expect(read(plain, "app/api/ai/replicate/route.ts")).toContain('export const dynamic = "force-dynamic";');
  });
});

describe("package.json", () => {
  const ours = JSON.parse(PROJECT_FILES["package.json"]);

  it("adds what the copied files import at our range, with its @types, and keeps the app's compatible ranges", () => {
    const merge = mergeDependencies({ dependencies: { axios: "^1.20.0" } }, ours, ["axios", "busboy", "zod"]);
    expect(merge.pkg.dependencies).toEqual({ axios: "^1.20.0", busboy: "^1.6.0", zod: "^4.6.7" });
    expect(merge.pkg.devDependencies).toEqual({ "@types/busboy": "^1.5.5" });
    expect(merge.added.map((change) => change.name)).toEqual(["busboy", "@types/busboy", "zod"]);
    expect(merge.changed).toEqual([]);
  });

  it("replaces a range that cannot meet ours and says so; react and react-dom move together", () => {
    const merge = mergeDependencies({ dependencies: { axios: "0.27.2", react: "19.3.0", "react-dom": "19.3.0" } }, ours, [
      "axios",
      "react",
    ]);
    expect(merge.pkg.dependencies).toEqual({ axios: "^1.21.1", react: "^19.3.1", "react-dom": "^19.3.1" });
    expect(merge.changed).toEqual([
      { name: "axios", from: "0.27.2", to: "^1.21.1", section: "dependencies" },
      { name: "react", from: "19.3.0", to: "^19.3.1", section: "dependencies" },
      { name: "react-dom", from: "19.3.0", to: "^19.3.1", section: "dependencies" },
    ]);
  });

  it("keeps a range it cannot compare (a tag, a URL) and says so", () => {
    const merge = mergeDependencies({ devDependencies: { zod: "latest" } }, ours, ["zod"]);
    expect(merge.pkg.devDependencies).toEqual({ zod: "latest" });
    expect(merge.unchecked).toEqual([{ name: "zod", range: "latest" }]);
  });

  it("writes the app's package.json in its own indentation, its other fields untouched", () => {
    const app = makeApp({ src: false, alias: "@/" });
    run(makeProject(), [app]);
    const pkg = read(app, "package.json");
    expect(pkg).toMatch(/^\{\n {2}"name": "their-app",/);
    // The fixture's routes import neither next nor react: theirs stay as they are, even pinned below our range.
    expect(JSON.parse(pkg).dependencies).toEqual({
      next: "16.4.3",
      react: "19.3.0",
      "react-dom": "19.3.0",
      zod: "^4.1.0",
      axios: "^1.21.1",
      busboy: "^1.6.0",
      ioredis: "^6.0.0",
      "@opentelemetry/sdk-node": "^0.223.0",
    });
  });
});

describe(".env.example", () => {
  const ours = PROJECT_FILES[".env.example"];

  it("appends only the variables the app's file lacks, each with its comment and section", () => {
    const { text, added } = appendMissingVariables("# Theirs\nDATABASE_URL=postgres://x\n# REPLICATE_MODEL=owner/name\n", ours);
    expect(added).toEqual(["REPLICATE_API_TOKEN"]);
    expect(text.startsWith("# Theirs\nDATABASE_URL=postgres://x\n# REPLICATE_MODEL=owner/name\n\n")).toBe(true);
    expect(text).toContain("# ---- Replicate ----\n\n# The token.\nREPLICATE_API_TOKEN=\n");
    expect(text).not.toContain("# The model.");
    expect(text).not.toContain("Header of the file");
  });

  it("changes nothing when every variable is there", () => {
    const once = appendMissingVariables("", ours).text;
    expect(appendMissingVariables(once, ours)).toEqual({ text: once, added: [] });
  });
});

describe("instrumentation.ts", () => {
  it("is copied beside the app folder, with what it imports, when the app has none", () => {
    const app = makeApp({ src: true, alias: "~/" });
    run(makeProject(), [app]);
    expect(read(app, "src/instrumentation.ts")).toContain('import("./lib/server/otel")');
    expect(existsSync(path.join(app, "src/lib/server/otel.ts"))).toBe(true);
  });

  it("is not copied over the app's own, nor what only it imports; the output says so", () => {
    const app = makeApp({ src: false, alias: "@/", extra: { "instrumentation.ts": "export function register() {}\n" } });
    const { code, out } = run(makeProject(), [app]);
    expect(code).toBe(0);
    expect(read(app, "instrumentation.ts")).toBe("export function register() {}\n");
    expect(existsSync(path.join(app, "lib/server/otel.ts"))).toBe(false);
    expect(JSON.parse(read(app, "package.json")).dependencies["@opentelemetry/sdk-node"]).toBeUndefined();
    expect(out).toContain("kept your instrumentation.ts");
  });
});

describe("refusals", () => {
  it("refuses a Pages-Router-only app, saying how to add the App Router", () => {
    const app = tempDir();
    writeTree(app, {
      "package.json": '{"dependencies":{"next":"16.4.3"}}',
      "tsconfig.json": "{}",
      "pages/index.tsx": "export default () => null;\n",
    });
    const { code, err } = run(makeProject(), [app]);
    expect(code).toBe(1);
    expect(err).toContain("uses the Pages Router only (pages/");
    expect(err).toContain("create an app/ folder");
    expect(existsSync(path.join(app, "lib"))).toBe(false);
  });

  it("refuses a folder that is not a Next.js app, or not TypeScript", () => {
    const plain = tempDir();
    writeTree(plain, { "package.json": '{"dependencies":{"express":"5"}}' });
    expect(run(makeProject(), [plain]).err).toContain("does not depend on next");
    const js = makeApp({ src: false, alias: "@/" });
    rmSync(path.join(js, "tsconfig.json"));
    expect(run(makeProject(), [js]).err).toContain("has no tsconfig.json");
  });

  it("overwrites no file of theirs: it lists them and writes nothing, unless --force", () => {
    const project = makeProject();
    const app = makeApp({ src: true, alias: "~/", extra: { "src/lib/shared/status.ts": "export const statusOf = 1;\n" } });
    const pkgBefore = read(app, "package.json");
    const refused = run(project, [app]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("  src/lib/shared/status.ts");
    expect(read(app, "src/lib/shared/status.ts")).toBe("export const statusOf = 1;\n");
    expect(read(app, "package.json")).toBe(pkgBefore);
    expect(existsSync(path.join(app, "src/lib/server/run.ts"))).toBe(false);
    expect(existsSync(path.join(app, ".env.example"))).toBe(false);

    const forced = run(project, [app, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain("overwrote src/lib/shared/status.ts");
    expect(read(app, "src/lib/shared/status.ts")).toBe(PROJECT_FILES["lib/shared/status.ts"]);
  });
});

describe("running it twice", () => {
  it("changes nothing the second time, and says there is nothing to do", () => {
    const project = makeProject();
    const app = makeApp({ src: true, alias: "~/", cacheComponents: true, extra: { ".env.example": "DATABASE_URL=\n" } });
    const first = run(project, [app, "--page", "replicate"]);
    expect(first.code).toBe(0);
    expect(first.out).toContain(".env.example: appended 2 variables");
    const snapshot = ["package.json", ".env.example", "src/app/api/ai/replicate/route.ts", "src/app/replicate/page.tsx"].map(
      (file) => read(app, file),
    );
    const second = run(project, [app, "--page", "replicate"]);
    expect(second).toMatchObject({ code: 0, err: "" });
    expect(second.out).toMatch(/^Nothing to do: .* already has the route/);
    expect(
      ["package.json", ".env.example", "src/app/api/ai/replicate/route.ts", "src/app/replicate/page.tsx"].map((file) =>
        read(app, file),
      ),
    ).toEqual(snapshot);
  });
});

describe("on this project", () => {
  it("copies the routes and what they import, without the tests, the dev tools or the page; every package it needs is ours", () => {
    const root = path.resolve(__dirname, "..");
    const walk = walkImports(root, routeFiles(root));
    expect(routeFiles(root)).toContain("app/api/ai/replicate/route.ts");
    expect(walk.files.filter((file) => file.startsWith("lib/server/")).length).toBeGreaterThan(0);
    expect(walk.files.filter((file) => /^(tests|dev|bench)\/|^app\/_components\//.test(file))).toEqual([]);
    const ours = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    expect(walk.packages.filter((name) => !ours.dependencies[name])).toEqual([]);
  });
});
