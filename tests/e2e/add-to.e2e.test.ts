/**
 * `npm run add-to` on apps fresh from today's create-next-app (16.x, as they come: Cache Components
 * on): one with src/ and the alias ~/*, one at the root with @/*, each with the demo page. Each is
 * installed (npm's cache shared; the second app's node_modules hard-linked from the first's when
 * their packages match), built with its own `next build`, started with its own `next start`, and
 * answers POST against the simulated Replicate: 200 with the finished prediction, and 202 whose
 * Location's GET ends in it. Their own pages still build and answer. The apps stay in
 * .tmp/add-to/ (git-ignored) to look at.
 *
 * The one change to the apps that is not add-to's: the template's root layout loads Google Fonts,
 * which `next build` fetches from the network, and this machine reaches only package registries;
 * the layout is written without them first.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, PROJECT_ROOT, simulatedReplicateEnv } from "@/dev/app-harness";
import { spawnGroup, waitUntilAnswering, type GroupProcess } from "@/dev/process-group";
import { startSimulatorServer, type SimulatorServer } from "@/dev/simulator/server";
import { notTheSeedNotice } from "@/tests/support/seed-schema-file";

const ROOT = path.join(PROJECT_ROOT, ".tmp/add-to");
const APPS = [
  { name: "with-src", flags: ["--src-dir", "--import-alias", "~/*"], appDir: "src/app", alias: "~/" },
  { name: "at-root", flags: ["--no-src-dir", "--import-alias", "@/*"], appDir: "app", alias: "@/" },
] as const;

const FONTLESS_LAYOUT = `import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = { title: "Create Next App" };

export default function RootLayout({ children }: LayoutProps<"/">) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
`;

const log = (line: string) => console.log(`[add-to e2e] ${line}`);

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}) in ${cwd}:\n${output.slice(-6000)}`);
  log(`${command} ${args.slice(0, 2).join(" ")} (${path.basename(cwd)}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return output;
}

const dependenciesOf = (dir: string) => {
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  return JSON.stringify([pkg.dependencies, pkg.devDependencies]);
};

const fitted = notTheSeedNotice("the add-to test");
if (fitted) console.warn(fitted);

describe.skipIf(fitted !== "")("npm run add-to on fresh create-next-app apps", () => {
  let simulator: SimulatorServer;
  const servers: { name: string; origin: string; process: GroupProcess; addOutput: string; secondRun: string }[] = [];

  beforeAll(async () => {
    const started = Date.now();
    simulator = await startSimulatorServer({ runMs: 300, bootMs: 0 });
    mkdirSync(ROOT, { recursive: true });
    // vitest sets NODE_ENV=test: `next build` wants production; npm installs the devDependencies too in development.
    const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" };
    const npmEnv: NodeJS.ProcessEnv = { ...env, NODE_ENV: "development" };
    let installed: string | null = null;
    for (const app of APPS) {
      const dir = path.join(ROOT, app.name);
      rmSync(dir, { recursive: true, force: true });
      run(
        "npx",
        [
          "-y",
          "create-next-app@16",
          app.name,
          "--ts",
          "--app",
          "--skip-install",
          "--yes",
          "--no-tailwind",
          "--no-eslint",
          "--no-react-compiler",
          "--no-agents-md",
          "--disable-git",
          "--use-npm",
          ...app.flags,
        ],
        ROOT,
        npmEnv,
      );
      writeFileSync(path.join(dir, app.appDir, "layout.tsx"), FONTLESS_LAYOUT);
      const addOutput = run("npm", ["run", "--silent", "add-to", "--", dir, "--page", "replicate"], PROJECT_ROOT);
      const secondRun = run("npm", ["run", "--silent", "add-to", "--", dir, "--page", "replicate"], PROJECT_ROOT);
      if (installed && dependenciesOf(installed) === dependenciesOf(dir)) {
        run("cp", ["-al", path.join(installed, "node_modules"), path.join(dir, "node_modules")], ROOT);
      } else {
        run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], dir, npmEnv);
        installed = dir;
      }
      run(path.join(dir, "node_modules/.bin/next"), ["build"], dir, env);
      const port = await freePort();
      const server = spawnGroup(path.join(dir, "node_modules/.bin/next"), ["start", "-p", String(port), "-H", "127.0.0.1"], {
        cwd: dir,
        env: simulatedReplicateEnv(simulator.baseUrl),
      });
      const origin = `http://127.0.0.1:${port}`;
      servers.push({ name: app.name, origin, process: server, addOutput, secondRun });
      await waitUntilAnswering(origin, server, 60_000).catch((error: Error) => {
        throw new Error(`next start of ${app.name}: ${error.message}\n${server.output().slice(-4000)}`);
      });
    }
    log(`both apps scaffolded, added to, installed, built and started in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, 1_200_000);

  afterAll(async () => {
    for (const server of servers) await server.process.stop();
    await simulator?.close();
  });

  describe.each(APPS)("$name", (app) => {
    const server = () => servers.find((entry) => entry.name === app.name)!;

    it("wrote the route through the app's alias, without the segment config Cache Components refuses, and a second run did nothing", () => {
      const route = readFileSync(path.join(ROOT, app.name, app.appDir, "api/ai/replicate/route.ts"), "utf8");
      expect(route).toContain(`from "${app.alias}lib/`);
      expect(route).not.toMatch(/export const (runtime|dynamic) /);
      expect(server().addOutput).toContain("This app has Cache Components on");
      expect(server().secondRun).toMatch(/^Nothing to do: /m);
      expect(existsSync(path.join(ROOT, app.name, ".env.example"))).toBe(true);
    });

    it("answers POST with 200 and the finished prediction", async () => {
      const response = await fetch(`${server().origin}/api/ai/replicate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: `added to ${app.name}` }),
      });
      const body = await response.json();
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body.status).toBe("succeeded");
      expect(simulator.sim.get(body.id)?.toJSON().status).toBe("succeeded");
    });

    it("answers 202 with a Location whose GET follows the prediction to its end", async () => {
      const created = await fetch(`${server().origin}/api/ai/replicate`, {
        method: "POST",
        headers: { "content-type": "application/json", prefer: "respond-async" },
        body: JSON.stringify({ prompt: `async in ${app.name}` }),
      });
      expect(created.status).toBe(202);
      const location = new URL(created.headers.get("location")!, server().origin).href;
      let answer = await fetch(location);
      // The simulator runs a prediction for 300 ms; the route says when to look again (Retry-After: 1).
      for (let tries = 0; answer.status === 202 && tries < 30; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        answer = await fetch(location);
      }
      const body = await answer.json();
      expect(answer.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ id: (await created.json()).id, status: "succeeded" });
    });

    it("still serves the app's own page, and the demo page under /replicate", async () => {
      const home = await fetch(`${server().origin}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain("</html>");
      const demo = await fetch(`${server().origin}/replicate`);
      expect(demo.status).toBe(200);
      expect(await demo.text()).toContain("Replicate");
    });
  });
});
