/**
 * The demo page in a real browser, against the production build of the app and the simulated
 * Replicate on loopback: the route runs exactly its production code.
 * Needs Debian's Chromium (`apt-get install -y chromium`); E2E_SKIP=1 skips the file.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderSeedPng } from "@/tests/simulator/png-image";
import { startSimulatorServer, type SimulatorServer } from "@/tests/simulator/server";
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  chromiumMissingMessage,
  ensureProductionBuild,
  freePort,
  PROJECT_ROOT,
  simulatedReplicateEnv,
  SIMULATED_TOKEN,
  startNextServer,
  type NextServer,
} from "./harness";

const DESKTOP = { width: 1200, height: 900 };
const PHONE = { width: 375, height: 812 };
const DOCS_SCREENSHOT = path.join(PROJECT_ROOT, "docs/screenshot.png");
const ARTIFACTS = path.join(PROJECT_ROOT, "tests/e2e/artifacts");

describe.skipIf(process.env.E2E_SKIP === "1")("the demo page in a browser", () => {
  let simulator: SimulatorServer;
  let app: NextServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    const missing = chromiumMissingMessage();
    if (missing) throw new Error(missing);
    ensureProductionBuild((line) => console.log(`[e2e] ${line}`));
    simulator = await startSimulatorServer({ runMs: 1500, bootMs: 200 });
    app = await startNextServer({
      port: await freePort(),
      env: simulatedReplicateEnv(simulator.baseUrl, { REPLICATE_POLL_INTERVAL_MS: "100" }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await simulator?.close();
  });

  beforeEach(async () => {
    page = await browser.newPage({ viewport: DESKTOP, permissions: ["clipboard-read", "clipboard-write"] });
    pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      // Chromium logs every 4xx/5xx answer; the tests provoke those on purpose.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
    });
    await page.goto(app.origin);
  });

  afterEach(async () => {
    await page?.close();
    // React hydration mismatches and uncaught exceptions surface here, not in the assertions.
    expect(pageErrors).toEqual([]);
  });

  async function fillForm(prompt: string, fields: { seed?: string; style?: string } = {}) {
    await page.getByTestId("prompt-input").fill(prompt);
    if (fields.seed !== undefined) await page.getByTestId("seed-input").fill(fields.seed);
    if (fields.style !== undefined) await page.getByTestId("style-select").selectOption(fields.style);
  }

  async function run(prompt: string, fields: { seed?: string; style?: string } = {}) {
    await fillForm(prompt, fields);
    await page.getByTestId("run-button").click();
  }

  const errorMessage = () => page.getByTestId("error-message");

  it("sends the picked image, shows the progress bar moving, then the simulator's image", async () => {
    const png = Buffer.from(renderSeedPng(7));
    await page.getByTestId("image-input").setInputFiles({ name: "sketch.png", mimeType: "image/png", buffer: png });
    await page.getByTestId("image-preview").waitFor();
    await run("A lighthouse on a cliff at dusk, volumetric light", { seed: "42", style: "photographic" });

    // A value strictly between 0 and 100, seen while no image is shown yet.
    const midway = await page.waitForFunction(
      () => {
        const value = Number(document.querySelector('[data-testid="progress"]')?.getAttribute("aria-valuenow"));
        const imageShown = document.querySelector('[data-testid="output-image"]') !== null;
        return !imageShown && value > 0 && value < 100 ? value : null;
      },
      null,
      { polling: 20, timeout: 10_000 },
    );
    const percentage = (await midway.jsonValue()) as number;
    expect(percentage).toBeGreaterThan(0);
    expect(percentage).toBeLessThan(100);

    const image = page.getByTestId("output-image");
    await image.waitFor({ timeout: 10_000 });
    expect(await image.getAttribute("src")).toMatch(new RegExp(`^${simulator.origin}/`));
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('[data-testid="output-image"]');
        return img !== null && img.complete && img.naturalWidth > 0;
      },
      null,
      { timeout: 5_000 },
    );
    await expect.poll(() => page.getByTestId("status").textContent()).toBe("Succeeded");
    const id = await page.getByTestId("prediction-id").textContent();
    const input = simulator.sim.predictions.get(id ?? "")?.toJSON().input;
    expect(input).toEqual({
      prompt: "A lighthouse on a cliff at dusk, volumetric light",
      seed: 42,
      style: "photographic",
      image: `data:image/png;base64,${png.toString("base64")}`,
    });
    expect(await page.getByTestId("predict-time").textContent()).toMatch(/^\d+\.\d\d s$/);
    expect(await page.getByTestId("progress").getAttribute("aria-valuenow")).toBe("100");

    mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
    await page.screenshot({ path: DOCS_SCREENSHOT });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: path.join(ARTIFACTS, "demo-375.png"), fullPage: true });
  });

  it("shows the route's validation error next to the seed field (submitted with Ctrl+Enter)", async () => {
    const createsBefore = simulator.sim.count("create");
    await fillForm("A cat", { seed: "-3" });
    await page.getByTestId("prompt-input").press("Control+Enter");

    const seedError = page.getByTestId("field-error-seed");
    await seedError.waitFor({ timeout: 5_000 });
    expect(await seedError.textContent()).toMatch(/^seed: \S/);
    expect(await page.getByTestId("seed-input").getAttribute("aria-invalid")).toBe("true");
    expect(simulator.sim.count("create")).toBe(createsBefore);
  });

  it("shows the model's own failure message, and copies the run as a curl command", async () => {
    await run("A cat's [fail]");

    await errorMessage().waitFor({ timeout: 10_000 });
    const id = await page.getByTestId("prediction-id").textContent();
    const failed = simulator.sim.predictions.get(id ?? "")?.toJSON();
    expect(failed?.status).toBe("failed");
    expect(await errorMessage().textContent()).toBe(`The model failed: ${failed?.error}`);

    await page.getByTestId("copy-curl").click();
    await expect.poll(() => page.getByTestId("copy-curl").textContent()).toBe("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      `curl -X POST '${app.origin}/api/ai/replicate' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"prompt":"A cat'\\''s [fail]"}'`,
    );
  });

  it("cancels the prediction upstream when Cancel is clicked", async () => {
    const cancelsBefore = simulator.sim.count("cancel");
    await run("A cat that never finishes [never]");

    // Wait until the route has created the prediction (its id is on the page) before canceling.
    await page.getByTestId("prediction-id").waitFor({ timeout: 10_000 });
    const id = await page.getByTestId("prediction-id").textContent();
    await page.getByTestId("cancel-button").click();

    await expect.poll(() => errorMessage().textContent()).toBe("Canceled");
    await expect
      .poll(async () => {
        const answer = await fetch(`${simulator.baseUrl}/predictions/${id}`, {
          headers: { Authorization: `Bearer ${SIMULATED_TOKEN}` },
        });
        return ((await answer.json()) as { status: string }).status;
      }, { timeout: 5_000, interval: 100 })
      .toBe("canceled");
    expect(simulator.sim.count("cancel")).toBeGreaterThan(cancelsBefore);
  });
});
