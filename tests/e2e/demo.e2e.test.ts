/**
 * The demo page in a real browser, against the production build of the app and the simulated
 * Replicate on loopback: the route runs exactly its production code.
 * Drives the Chromium or Chrome that find-browser.ts finds; with none (or E2E_SKIP=1) it is skipped.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderSeedPng, seedPngDataUrl } from "@/dev/simulator/png-image";
import { startSimulatorServer, type SimulatorServer } from "@/dev/simulator/server";
import {
  ensureProductionBuild,
  freePort,
  PROJECT_ROOT,
  simulatedReplicateEnv,
  startNextServer,
  type NextServer,
} from "@/dev/app-harness";
import { PROMPT_DIRECTIVES } from "@/lib/shared/simulator";
import { notTheSeedNotice } from "@/tests/support/seed-schema-file";
import { CHROMIUM_ARGS, findBrowser } from "./find-browser";

const DESKTOP = { width: 1200, height: 900 };
const ROUTE_KEY = "e2e-route-key-0123456789";
const PHONE = { width: 375, height: 812 };
const PHONE_390 = { width: 390, height: 844 };
/** Git-ignored: a test run leaves the tree as it found it. */
const ARTIFACTS = path.join(PROJECT_ROOT, "tests/e2e/artifacts");
/** The README's screenshot, rewritten only by `npm run screenshot` (this test with UPDATE_SCREENSHOT=1). */
const DOCS_SCREENSHOT = path.join(PROJECT_ROOT, "docs/screenshot.png");
const updateDocsScreenshot = process.env.UPDATE_SCREENSHOT === "1";

const skipped = process.env.E2E_SKIP === "1";
const browserFound = findBrowser({ env: process.env, exists: existsSync, playwrightPath: () => chromium.executablePath() });
if (!skipped && browserFound.path === null) console.warn(browserFound.message);

// The page's seed form (prompt, seed, style, image): skipped (one line says so) once schema.ts is
// fitted to another model; tests/e2e/any-model.e2e.test.ts drives the fitted forms.
const fitted = notTheSeedNotice("the demo page test");
if (fitted) console.warn(fitted);

describe.skipIf(skipped || browserFound.path === null || fitted !== "")("the demo page in a browser", () => {
  let simulator: SimulatorServer;
  let app: NextServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    ensureProductionBuild((line) => console.log(`[e2e] ${line}`));
    simulator = await startSimulatorServer({ runMs: 1500, bootMs: 200 });
    // Async creates carry a webhook back to this app; its secret is fetched from the simulator.
    const port = await freePort();
    [app, browser] = await Promise.all([
      startApp(port, { REPLICATE_WEBHOOK_URL: `http://127.0.0.1:${port}` }),
      chromium.launch({ executablePath: browserFound.path ?? undefined, args: CHROMIUM_ARGS }),
    ]);
  }, 240_000);

  /** `next start` of the same build against the simulator; settings a developer's shell may hold are cleared. */
  async function startApp(port: number, extra: Record<string, string> = {}): Promise<NextServer> {
    return startNextServer({
      port,
      env: simulatedReplicateEnv(simulator.baseUrl, {
        REPLICATE_POLL_INTERVAL_MS: "100",
        ROUTE_API_KEY: "",
        REPLICATE_WEBHOOK_URL: "",
        REPLICATE_WEBHOOK_SECRET: "",
        REPLICATE_RATE_LIMIT: "",
        ...extra,
      }),
    });
  }

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
  /** The handle in the page's URL (`?prediction={id}.{mac}`), and the prediction id it names. */
  const urlHandle = () => new URL(page.url()).searchParams.get("prediction");
  const urlPredictionId = () => urlHandle()?.split(".")[0] ?? null;

  /** Resolves with the progress bar's value once it is strictly between 0 and 100 with no image shown. */
  async function progressMidway(): Promise<number> {
    const midway = await page.waitForFunction(
      () => {
        const value = Number(document.querySelector('[data-testid="progress"]')?.getAttribute("aria-valuenow"));
        const imageShown = document.querySelector('[data-testid="output-image"]') !== null;
        return !imageShown && value > 0 && value < 100 ? value : null;
      },
      null,
      { polling: 20, timeout: 10_000 },
    );
    return (await midway.jsonValue()) as number;
  }

  /** Resolves once the output image has loaded (decoded, with a width). */
  const outputImageLoaded = () =>
    page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('[data-testid="output-image"]');
        return img !== null && img.complete && img.naturalWidth > 0;
      },
      null,
      { timeout: 5_000 },
    );

  /** Requests the simulated Replicate saw for one prediction, by kind (create, get, cancel). */
  const upstreamCalls = (id: string, kind: string) =>
    simulator.sim.requests.filter((request) => request.kind === kind && request.path.includes(id));

  it("sends the picked image, shows the progress bar moving, then the simulator's image", async () => {
    const png = Buffer.from(renderSeedPng(7));
    await page.getByTestId("image-input").setInputFiles({ name: "sketch.png", mimeType: "image/png", buffer: png });
    await page.getByTestId("image-preview").waitFor();
    await run("A lighthouse on a cliff at dusk, volumetric light", { seed: "42", style: "photographic" });

    // A value strictly between 0 and 100, seen while no image is shown yet.
    const percentage = await progressMidway();
    expect(percentage).toBeGreaterThan(0);
    expect(percentage).toBeLessThan(100);

    const image = page.getByTestId("output-image");
    await image.waitFor({ timeout: 10_000 });
    expect(await image.getAttribute("src")).toMatch(new RegExp(`^${simulator.origin}/`));
    await outputImageLoaded();
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

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "demo-1200.png") });
    // The whole page: the output and, under it, the history.
    if (updateDocsScreenshot) await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: path.join(ARTIFACTS, "demo-375.png"), fullPage: true });
  });

  it("shows the route's validation error next to the seed field (submitted with Ctrl+Enter)", async () => {
    const createsBefore = simulator.sim.count("create");
    await fillForm("A cat", { seed: "-3" });
    await page.getByTestId("prompt-input").press("Control+Enter");

    const seedError = page.getByTestId("field-error-seed");
    await seedError.waitFor({ timeout: 5_000 });
    // Under the Seed field, its label names it already.
    expect(await seedError.textContent()).toBe("Must be 0 or more");
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

  it("cancels the prediction upstream with a DELETE when Cancel is clicked", async () => {
    await run("A cat that never finishes [never]");

    // Wait until the route has created the prediction (its id is on the page) before canceling.
    await page.getByTestId("prediction-id").waitFor({ timeout: 10_000 });
    const id = (await page.getByTestId("prediction-id").textContent()) ?? "";
    const handle = urlHandle();
    expect(handle?.startsWith(`${id}.`)).toBe(true);
    const deleteSent = page.waitForRequest(
      (request) => request.method() === "DELETE" && request.url().endsWith(`/api/ai/replicate/${handle}`),
    );
    await page.getByTestId("cancel-button").click();
    await deleteSent;

    // The person's own cancel is said quietly, not as an error.
    await expect.poll(() => page.getByTestId("canceled-message").textContent()).toBe("Canceled");
    expect(await page.getByTestId("error").count()).toBe(0);
    expect(await page.getByTestId("status").textContent()).toBe("Canceled");
    expect(simulator.sim.get(id)?.toJSON().status).toBe("canceled");
    expect(upstreamCalls(id, "cancel")).toHaveLength(1);
    expect(urlPredictionId()).toBeNull();
  });

  it("re-attaches to the running prediction after a reload: no second create, no cancel", async () => {
    const createsBefore = simulator.sim.count("create");
    await run("A slow lighthouse [run:4000]");
    await progressMidway();
    const id = await page.getByTestId("prediction-id").textContent();
    expect(urlPredictionId()).toBe(id);
    const elapsedBefore = parseFloat((await page.getByTestId("elapsed").textContent()) ?? "0");

    await page.reload();
    await expect.poll(() => page.getByTestId("prediction-id").textContent(), { timeout: 5_000 }).toBe(id);
    // The timer counts from the prediction's start, not from the re-attach.
    expect(parseFloat((await page.getByTestId("elapsed").textContent()) ?? "0")).toBeGreaterThanOrEqual(elapsedBefore);
    expect(await progressMidway()).toBeGreaterThan(0);
    await page.getByTestId("output-image").waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId("status").textContent()).toBe("Succeeded");
    expect(urlPredictionId()).toBeNull();

    expect(simulator.sim.get(id ?? "")?.toJSON().status).toBe("succeeded");
    expect(simulator.sim.count("create") - createsBefore).toBe(1);
    expect(upstreamCalls(id ?? "", "cancel")).toEqual([]);
  });

  /** Runs `prompt` and waits for its end; answers the prediction's id. */
  async function runToEnd(prompt: string, fields: { seed?: string } = {}): Promise<string> {
    await run(prompt, fields);
    await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 10_000 }).toMatch(/^(Succeeded|Failed)$/);
    return (await page.getByTestId("prediction-id").textContent()) ?? "";
  }

  const historyIds = () =>
    page.$$eval('[data-testid="history-item"]', (items) => items.map((item) => item.getAttribute("data-id")));
  const historyItem = (id: string) => page.locator(`[data-testid="history-item"][data-id="${id}"]`);

  it("keeps every run in a history across a reload: re-open, run again, copy inputs, remove", async () => {
    const first = await runToEnd("A first lighthouse", { seed: "1" });
    const second = await runToEnd("A second harbour", { seed: "2" });
    expect(await historyIds()).toEqual([second, first]);
    expect(await historyItem(first).getByTestId("history-status").textContent()).toBe("Succeeded");
    expect(await historyItem(second).locator("img").getAttribute("src")).toMatch(new RegExp(`^${simulator.origin}/`));

    // A reload keeps the history and the form as it was.
    await page.reload();
    await expect.poll(historyIds).toEqual([second, first]);
    await expect.poll(() => page.getByTestId("prompt-input").inputValue()).toBe("A second harbour");
    expect(await page.getByTestId("seed-input").inputValue()).toBe("2");

    // Re-open the first run: its output, inputs and logs, from Replicate, without creating anything.
    const createsBefore = simulator.sim.count("create");
    await historyItem(first).getByTestId("history-open").click();
    await expect.poll(() => page.getByTestId("prediction-id").textContent()).toBe(first);
    await expect.poll(() => page.getByTestId("status").textContent()).toBe("Succeeded");
    await page.getByTestId("output-image").waitFor();
    expect(await page.getByTestId("seed-used").textContent()).toBe("1");
    expect(await page.getByTestId("model").textContent()).toContain("simulated/image-model");
    await page.getByTestId("run-inputs").locator("summary").click();
    expect(await page.getByTestId("run-inputs").textContent()).toContain("A first lighthouse");
    expect(simulator.sim.count("create")).toBe(createsBefore);

    // Run it again: the same inputs, a new prediction, listed first.
    await historyItem(first).getByTestId("history-run-again").click();
    await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 10_000 }).toBe("Succeeded");
    const again = (await page.getByTestId("prediction-id").textContent()) ?? "";
    expect(again).not.toBe(first);
    expect(simulator.sim.get(again)?.toJSON().input).toEqual({ prompt: "A first lighthouse", seed: 1 });
    expect(await historyIds()).toEqual([again, second, first]);
    expect(await page.getByTestId("prompt-input").inputValue()).toBe("A first lighthouse");

    // Copy the second run's inputs into the form.
    await historyItem(second).getByTestId("history-copy-inputs").click();
    expect(await page.getByTestId("prompt-input").inputValue()).toBe("A second harbour");
    expect(await page.getByTestId("seed-input").inputValue()).toBe("2");

    // Remove one: gone, and still gone after a reload.
    await historyItem(first).getByTestId("history-remove").click();
    expect(await historyIds()).toEqual([again, second]);
    await page.reload();
    await expect.poll(historyIds).toEqual([again, second]);
  });

  it("re-attaches a run still in flight from the history", async () => {
    const createsBefore = simulator.sim.count("create");
    await run("A slow harbour [run:3000]");
    await page.getByTestId("prediction-id").waitFor({ timeout: 10_000 });
    const id = (await page.getByTestId("prediction-id").textContent()) ?? "";

    // A fresh visit (no ?prediction= in the address): the run is listed as running; opening it follows it.
    await page.goto(app.origin);
    await expect.poll(historyIds).toEqual([id]);
    expect(await historyItem(id).getByTestId("history-status").textContent()).toMatch(/^(Starting|Running)$/);
    await historyItem(id).getByTestId("history-open").click();
    await expect.poll(() => page.getByTestId("prediction-id").textContent()).toBe(id);
    await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 10_000 }).toBe("Succeeded");
    await expect.poll(() => historyItem(id).getByTestId("history-status").textContent()).toBe("Succeeded");
    expect(simulator.sim.count("create") - createsBefore).toBe(1);
  });

  it("downloads an output through the app, named <prediction id>-<n>.<ext>, with the output's very bytes", async () => {
    const id = await runToEnd("A lighthouse to keep");
    const src = (await page.getByTestId("output-image").getAttribute("src")) ?? "";
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-0").click()]);
    expect(download.suggestedFilename()).toBe(`${id}-0.svg`);
    const saved = await readFile((await download.path()) ?? "");
    expect(saved).toEqual(Buffer.from(await (await fetch(src)).arrayBuffer()));
    expect(await page.getByTestId("download-error").count()).toBe(0);
  });

  it("on a phone, brings the progress into view after Run", async () => {
    await page.setViewportSize(PHONE_390);
    await page.goto(app.origin);
    await page.getByTestId("prompt-input").fill("A phone's lighthouse [run:2000]");
    const result = page.getByTestId("result");
    const top = () => result.evaluate((element) => element.getBoundingClientRect().top);
    expect(await top()).toBeGreaterThan(PHONE_390.height);
    await page.getByTestId("run-button").click();
    await expect.poll(top).toBeLessThan(PHONE_390.height / 2);
    expect(await top()).toBeGreaterThanOrEqual(0);
    expect(await page.getByTestId("progress").isVisible()).toBe(true);
    // Nothing is wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_390.width);
  });

  it("says it talks to the simulated Replicate, and how to steer it", async () => {
    const banner = page.getByTestId("simulator-banner");
    await banner.waitFor();
    const text = (await banner.textContent()) ?? "";
    for (const { directive } of PROMPT_DIRECTIVES) expect(text).toContain(directive);
    expect(await page.content()).not.toContain("r8_simulated_token");
  });

  it("async mode with webhooks: the verified webhook answers the GET, not Replicate", async () => {
    const response = await fetch(`${app.origin}/api/ai/replicate`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Prefer: "respond-async" },
      body: JSON.stringify({ prompt: "A fox, followed by webhook" }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const location = response.headers.get("location") ?? "";
    expect(location).toMatch(new RegExp(`^/api/ai/replicate/${id}\\.[A-Za-z0-9_-]+$`));
    expect((await fetch(`${app.origin}/api/ai/replicate/${id}`)).status).toBe(404);

    const completed = () =>
      simulator.sim.webhookDeliveries.find(
        (delivery) => delivery.predictionId === id && delivery.event === "completed" && delivery.status === 200,
      );
    await expect.poll(completed, { timeout: 10_000, interval: 50 }).toBeTruthy();
    expect(completed()?.url).toBe(`${app.origin}/api/ai/replicate/webhook`);
    expect(simulator.sim.count("secret")).toBeGreaterThan(0);

    const answer = await fetch(`${app.origin}${location}`);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { status: string }).status).toBe("succeeded");
    expect(upstreamCalls(id, "get")).toEqual([]);
  });

  describe("a 2 MB image, through the Files API, with kept outputs (OUTPUT_STORAGE=fs)", () => {
    let files: SimulatorServer;
    let kept: NextServer;
    let storageDir: string;

    beforeAll(async () => {
      storageDir = mkdtempSync(path.join(tmpdir(), "e2e-outputs-"));
      // Replicate removes a prediction's data an hour after it ends; here 5 s after (time for the page to see it end on a busy machine).
      files = await startSimulatorServer({ runMs: 600, bootMs: 100, retentionMs: 5_000 });
      kept = await startNextServer({
        port: await freePort(),
        env: simulatedReplicateEnv(files.baseUrl, {
          REPLICATE_POLL_INTERVAL_MS: "100",
          ROUTE_API_KEY: "",
          REPLICATE_WEBHOOK_URL: "",
          REPLICATE_WEBHOOK_SECRET: "",
          REPLICATE_RATE_LIMIT: "",
          OUTPUT_STORAGE: "fs",
          OUTPUT_STORAGE_DIR: storageDir,
        }),
      });
    }, 60_000);

    afterAll(async () => {
      await kept?.stop();
      await files?.close();
      if (storageDir) rmSync(storageDir, { recursive: true, force: true });
    });

    it("goes as multipart, reaches the model by its file URL, and the output is shown from the kept copy after Replicate's is gone", async () => {
      const png = Buffer.from(seedPngDataUrl(11, 2 * 1024 * 1024).split(",")[1], "base64");
      expect(png.length).toBeGreaterThan(2_000_000);
      await page.goto(kept.origin);
      await page.getByTestId("image-input").setInputFiles({ name: "large.png", mimeType: "image/png", buffer: png });
      await page.getByTestId("image-preview").waitFor();
      const posted = page.waitForRequest((request) => request.method() === "POST" && request.url().endsWith("/api/ai/replicate"));
      await run("A large sketch", { seed: "5" });
      expect((await posted).headers()["content-type"]).toMatch(/^multipart\/form-data; boundary=/);

      const image = page.getByTestId("output-image");
      await image.waitFor({ timeout: 10_000 });
      // While it runs the page may show Replicate's file (the live output); once it ends, the kept copy.
      await expect.poll(() => page.getByTestId("status").textContent()).toBe("Succeeded");
      const src = (await image.getAttribute("src")) ?? "";
      expect(src).toMatch(/^\/api\/ai\/replicate\/outputs\//);

      // The model got the file's URL, not 2.7 MB of base64, and read the very bytes picked.
      const id = (await page.getByTestId("prediction-id").textContent()) ?? "";
      const [file] = files.sim.files.files.values();
      expect(files.sim.predictions.get(id)?.plan.input.image).toBe(`${files.baseUrl}/files/${file.id}`);
      expect(files.sim.files.readByModel.get(id)?.image).toBe(`data:image/png;base64,${png.toString("base64")}`);
      // Deleted once the prediction ended, not left on the account for 24 h.
      await expect.poll(() => file.deleted, { timeout: 5_000, interval: 50 }).toBe(true);

      // Replicate's copy goes; the page's copy stays.
      const [original] = files.sim.predictions.get(id)!.outputFileUrls();
      await expect.poll(() => files.sim.predictions.get(id)!.isDataRemoved(), { timeout: 15_000, interval: 100 }).toBe(true);
      expect((await fetch(original)).status).toBe(404);
      const shown = await page.evaluate(async (url) => {
        const response = await fetch(url, { cache: "no-store" });
        return {
          status: response.status,
          type: response.headers.get("content-type"),
          size: (await response.arrayBuffer()).byteLength,
        };
      }, src);
      expect(shown.status).toBe(200);
      expect(shown.type).toContain("image/");
      expect(shown.size).toBeGreaterThan(png.length);
      await outputImageLoaded();
    });
  });

  describe("with a budget of model time (REPLICATE_BUDGET_PER_CALLER)", () => {
    let budgeted: NextServer;

    beforeAll(async () => {
      // 2 s a day; the first run is reserved at 1 s and costs the simulator's 1.5 s, so a second does not fit.
      budgeted = await startApp(await freePort(), {
        REPLICATE_BUDGET_PER_CALLER: "2s/day",
        REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: "1",
      });
    }, 60_000);

    afterAll(async () => {
      await budgeted?.stop();
    });

    it("shows the model-seconds used, then says when the spent budget renews, with nothing created", async () => {
      await page.goto(budgeted.origin);
      await run("A budgeted cat");
      await outputImageLoaded();
      await expect.poll(() => page.getByTestId("budget").textContent()).toMatch(/^Used 1 of 2 model-seconds today$/);
      const creates = simulator.sim.count("create");
      await run("One cat too many");
      await expect.poll(() => errorMessage().textContent()).toBe("Budget spent · HTTP 402");
      await expect
        .poll(() => page.getByTestId("budget").textContent())
        .toMatch(/^Used 2 of 2 model-seconds today · spent: it renews at \d\d:\d\d/);
      expect(simulator.sim.count("create")).toBe(creates);
    });
  });

  describe("with an access key (ROUTE_API_KEY)", () => {
    let keyed: NextServer;

    beforeAll(async () => {
      keyed = await startApp(await freePort(), { ROUTE_API_KEY: ROUTE_KEY });
    }, 60_000);

    afterAll(async () => {
      await keyed?.stop();
    });

    const post = (authorization?: string) =>
      fetch(`${keyed.origin}/api/ai/replicate`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(authorization ? { Authorization: authorization } : {}) },
        body: JSON.stringify({ prompt: "A keyed cat" }),
      });

    it("answers 401 problem JSON without the key or with a wrong one, and runs with the right one", async () => {
      for (const authorization of [undefined, "Bearer not-the-key-0123456789"]) {
        const refused = await post(authorization);
        expect(refused.status).toBe(401);
        expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
        expect(await refused.json()).toMatchObject({ status: 401, title: expect.any(String), detail: expect.any(String) });
      }
      const accepted = await post(`Bearer ${ROUTE_KEY}`);
      expect(accepted.status).toBe(200);
      expect(((await accepted.json()) as { status: string }).status).toBe("succeeded");
    });

    it("asks for the key, says when it is refused, then runs with it and keeps it in this tab only", async () => {
      expect(await (await fetch(keyed.origin)).text()).not.toContain(ROUTE_KEY);
      // The form is drawn from the schema route, which the key guards too: the page asks at once.
      await page.goto(keyed.origin);

      const message = page.getByTestId("access-key-message");
      await expect.poll(() => message.textContent(), { timeout: 5_000 }).toBe("This app's route needs an access key");
      await page.getByTestId("access-key-input").fill("not-the-key-0123456789");
      await page.getByTestId("access-key-submit").click();
      await expect.poll(() => message.textContent(), { timeout: 5_000 }).toBe("The access key was refused");

      await page.getByTestId("access-key-input").fill(ROUTE_KEY);
      await page.getByTestId("access-key-submit").click();
      await run("A cat behind a key");
      await page.getByTestId("output-image").waitFor({ timeout: 10_000 });
      await expect.poll(() => page.getByTestId("status").textContent()).toBe("Succeeded");
      expect(await page.evaluate(() => sessionStorage.getItem("replicate-route-key"))).toBe(ROUTE_KEY);

      await page.getByTestId("forget-key").click();
      expect(await page.evaluate(() => sessionStorage.getItem("replicate-route-key"))).toBeNull();
      await expect.poll(() => page.getByTestId("key-status").count()).toBe(0);
    });
  });
});
