/**
 * The demo fitted to other models by `npm run model`, in a real browser: for each, schema.ts is
 * generated from the simulated Replicate's catalogue into a copy of the app (any-model-app.ts),
 * built and started with that model configured; the page draws the model's own form, the test
 * fills it by its test ids, runs it and sees the model's kind of output: the language model (by
 * version: streamed text), the fast text-to-image model (official, by name: several images in the
 * chosen format), the image-to-image model (a picked image in, one image out) and the
 * speech-to-text model (a picked audio file in, its transcript out). One build each (15 to 60 s
 * on a 2-core machine, skipped when nothing changed); tests/fit-model-route.test.ts runs the same
 * routes in-process for every catalogue model.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort, simulatedReplicateEnv, startNextServer, type NextServer } from "@/dev/app-harness";
import { IMAGE_EDIT_MODEL, LANGUAGE_MODEL, SPEECH_TO_TEXT_MODEL } from "@/dev/simulator/models";
import { renderSeedPng } from "@/dev/simulator/png-image";
import { startSimulatorServer, type SimulatorServer } from "@/dev/simulator/server";
import { buildAppFor } from "./any-model-app";
import { CHROMIUM_ARGS, findBrowser } from "./find-browser";

const skipped = process.env.E2E_SKIP === "1";
const browserFound = findBrowser({ env: process.env, exists: existsSync, playwrightPath: () => chromium.executablePath() });
if (!skipped && browserFound.path === null) console.warn(browserFound.message);

const log = (line: string) => console.log(`[e2e any-model] ${line}`);
/** A valid WAV file: 8 kHz mono, a few silent samples. */
const WAV = Buffer.from("UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==", "base64");

describe.skipIf(skipped || browserFound.path === null)("the demo fitted to other models by npm run model", () => {
  let simulator: SimulatorServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    [simulator, browser] = await Promise.all([
      startSimulatorServer({ runMs: 1500, bootMs: 200 }),
      chromium.launch({ executablePath: browserFound.path ?? undefined, args: CHROMIUM_ARGS }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await simulator?.close();
  });

  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
    });
  });

  afterEach(async () => {
    await page?.close();
    expect(pageErrors).toEqual([]);
  });

  /** The copy of the app built for `target`, started with `model` configured as the README says. */
  async function startAppFor(target: string, modelEnv: Record<string, string>): Promise<NextServer> {
    const dir = await buildAppFor(target, simulator.baseUrl, log);
    return startNextServer({
      port: await freePort(),
      dir,
      env: simulatedReplicateEnv(simulator.baseUrl, {
        REPLICATE_MODEL: "",
        REPLICATE_MODEL_VERSION: "",
        ...modelEnv,
        REPLICATE_POLL_INTERVAL_MS: "100",
        ROUTE_API_KEY: "",
        REPLICATE_WEBHOOK_URL: "",
        REPLICATE_WEBHOOK_SECRET: "",
        REPLICATE_RATE_LIMIT: "",
      }),
    });
  }

  const testIds = () =>
    page.$$eval("[data-testid$='-input'], [data-testid$='-select']", (elements) =>
      elements.map((element) => element.getAttribute("data-testid")),
    );

  /** The prediction the page ran, as the simulator has it. */
  async function ranPrediction() {
    await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 10_000 }).toBe("Succeeded");
    const id = (await page.getByTestId("prediction-id").textContent()) ?? "";
    const prediction = simulator.sim.predictions.get(id);
    expect(prediction).toBeDefined();
    return { id, json: prediction!.toJSON() };
  }

  /** The output images' sources, once every one of `count` has loaded. */
  async function loadedImages(count: number): Promise<string[]> {
    await page.waitForFunction(
      (expected) => {
        const images = [...document.querySelectorAll<HTMLImageElement>('[data-testid="output-image"]')];
        return images.length === expected && images.every((image) => image.complete && image.naturalWidth > 0);
      },
      count,
      { timeout: 10_000 },
    );
    return page.$$eval('[data-testid="output-image"]', (images) => images.map((image) => image.getAttribute("src") ?? ""));
  }

  /** The app built and started for a model run by version, as npm run model prints it. */
  function byVersion(model: { owner: string; name: string; latest_version: { id: string } }) {
    const target = `${model.owner}/${model.name}:${model.latest_version.id}`;
    return startAppFor(target, { REPLICATE_MODEL_VERSION: target });
  }

  describe("the language model, by version (REPLICATE_MODEL_VERSION)", () => {
    let app: NextServer;

    beforeAll(async () => {
      app = await byVersion(LANGUAGE_MODEL);
    }, 240_000);

    afterAll(async () => {
      await app?.stop();
    });

    it("draws the model's form, sends only what was set, and shows the reply as it streams", async () => {
      await page.goto(app.origin);
      await page.getByTestId("prompt-input").waitFor();
      expect(await testIds()).toEqual([
        "prompt-input",
        "system_prompt-input",
        "max_tokens-input",
        "temperature-input",
        "top_p-input",
        "stop_sequences-input",
      ]);
      expect(await page.getByTestId("temperature-input").getAttribute("type")).toBe("range");
      // Before a run, the output area expects text: no image icon, the reply is named.
      const placeholder = page.getByTestId("output-placeholder");
      expect(await placeholder.getAttribute("data-kind")).toBe("text");
      expect(await placeholder.textContent()).toContain("reply");
      expect(await placeholder.locator("svg rect, svg circle").count()).toBe(0);
      expect(await page.getByTestId("system_prompt-input").getAttribute("placeholder")).toBe("You are a helpful assistant.");

      await page.getByTestId("prompt-input").fill("Tell me about lighthouses at night [run:3000]");
      await page.getByTestId("max_tokens-input").fill("10");
      // The slider from its default 0.6, two steps (0.05 each) up.
      await page.getByTestId("temperature-input").focus();
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowRight");
      await page.getByTestId("run-button").click();

      // Some text, with the caret of a stream still going.
      const partial = await page.waitForFunction(
        () => {
          const text = document.querySelector('[data-testid="output-text"]');
          return text?.querySelector(".caret") && text.textContent ? text.textContent : null;
        },
        null,
        { polling: 20, timeout: 10_000 },
      );
      const seen = (await partial.jsonValue()) as string;

      const { json } = await ranPrediction();
      const reply = (json.output as string[]).join("");
      expect(json.output).toHaveLength(10);
      await expect.poll(() => page.getByTestId("output-text").textContent()).toBe(reply);
      expect(reply.startsWith(seen) && seen.length < reply.length).toBe(true);
      expect(await page.locator('[data-testid="output-text"] .caret').count()).toBe(0);
      expect(json.model).toBe("simulated/language-model");
      expect(json.version).toBe(LANGUAGE_MODEL.latest_version.id);
      expect(json.input).toEqual({ prompt: "Tell me about lighthouses at night [run:3000]", max_tokens: 10, temperature: 0.7 });
    });
  });

  describe("the fast text-to-image model, official (REPLICATE_MODEL)", () => {
    let app: NextServer;

    beforeAll(async () => {
      app = await startAppFor("simulated/fast-image", { REPLICATE_MODEL: "simulated/fast-image" });
    }, 240_000);

    afterAll(async () => {
      await app?.stop();
    });

    it("draws selects, a slider and a toggle; runs num_outputs images in the chosen format", async () => {
      await page.goto(app.origin);
      await page.getByTestId("prompt-input").waitFor();
      expect(await testIds()).toEqual([
        "prompt-input",
        "aspect_ratio-select",
        "num_outputs-input",
        "output_format-select",
        "go_fast-input",
        "seed-input",
      ]);

      await page.getByTestId("prompt-input").fill("A lighthouse at dusk");
      await page.getByTestId("aspect_ratio-select").selectOption("16:9");
      await page.getByTestId("num_outputs-input").focus();
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowRight");
      await page.getByTestId("output_format-select").selectOption("png");
      await page.getByTestId("go_fast-input").uncheck();
      await page.getByTestId("seed-input").fill("42");
      await page.getByTestId("run-button").click();

      const sources = await loadedImages(3);
      expect(sources.every((src) => src.startsWith(`${simulator.origin}/files/`) && src.endsWith(".png"))).toBe(true);
      const { id, json } = await ranPrediction();
      expect(json.model).toBe("simulated/fast-image");
      expect(json.input).toEqual({
        prompt: "A lighthouse at dusk",
        aspect_ratio: "16:9",
        num_outputs: 3,
        output_format: "png",
        go_fast: false,
        seed: 42,
      });
      const creates = simulator.sim.requests.filter((request) => request.kind === "create").map((request) => request.path);
      expect(creates.at(-1)).toBe("/v1/models/simulated/fast-image/predictions");
      expect(sources.map((src) => src.split("/").slice(-2).join("/"))).toEqual([0, 1, 2].map((n) => `${id}/out-${n}.png`));

      // Small images fill a grid's cells (scaled up, not pixelated), and Download all saves each, named by the prediction.
      const widths = await page.$$eval('[data-testid="output-image"]', (images) =>
        images.map((image) => image.getBoundingClientRect().width),
      );
      const natural = await page.$eval('[data-testid="output-image"]', (image) => (image as HTMLImageElement).naturalWidth);
      expect(Math.min(...widths)).toBeGreaterThan(natural);
      expect(await page.$eval('[data-testid="output-image"]', (image) => getComputedStyle(image).imageRendering)).toBe("auto");
      const names: string[] = [];
      page.on("download", (download) => names.push(download.suggestedFilename()));
      await page.getByTestId("download-all").click();
      await expect.poll(() => names.length).toBe(3);
      expect(names).toEqual([0, 1, 2].map((n) => `${id}-${n}.png`));
    });

    it("leaves the defaults to the model: one image, in its default format (webp)", async () => {
      await page.goto(app.origin);
      await page.getByTestId("prompt-input").fill("A quiet harbour");
      await page.getByTestId("run-button").click();
      const [source] = await loadedImages(1);
      expect(source).toMatch(/\.webp$|^data:image\/webp;base64,/);
      const { json } = await ranPrediction();
      expect(json.input).toEqual({ prompt: "A quiet harbour" });
      expect(json.output).toEqual([expect.stringMatching(/\/out-0\.webp$/)]);
    });
  });

  describe("the image-to-image model, by version", () => {
    let app: NextServer;

    beforeAll(async () => {
      app = await byVersion(IMAGE_EDIT_MODEL);
    }, 240_000);

    afterAll(async () => {
      await app?.stop();
    });

    it("takes the picked image and shows the one image the model makes", async () => {
      await page.goto(app.origin);
      await page.getByTestId("prompt-input").waitFor();
      expect(await testIds()).toEqual([
        "image-input",
        "prompt-input",
        "negative_prompt-input",
        "strength-input",
        "num_inference_steps-input",
        "guidance_scale-input",
        "seed-input",
      ]);
      expect(await page.getByTestId("image-input").getAttribute("accept")).toBe("image/*");
      const png = Buffer.from(renderSeedPng(7));
      await page.getByTestId("image-input").setInputFiles({ name: "harbour.png", mimeType: "image/png", buffer: png });
      await page.getByTestId("image-preview").waitFor();
      await page.getByTestId("prompt-input").fill("The same harbour at night");
      await page.getByTestId("run-button").click();

      const [source] = await loadedImages(1);
      const { json } = await ranPrediction();
      expect(json.output).toEqual(expect.stringMatching(/\/out-0\.svg$/));
      expect(source).toMatch(/\/out-0\.svg$|^data:image\//);
      expect(json.input).toEqual({
        image: `data:image/png;base64,${png.toString("base64")}`,
        prompt: "The same harbour at night",
      });
    });
  });

  describe("the speech-to-text model, by version", () => {
    let app: NextServer;

    beforeAll(async () => {
      app = await byVersion(SPEECH_TO_TEXT_MODEL);
    }, 240_000);

    afterAll(async () => {
      await app?.stop();
    });

    it("takes the picked audio file and shows its transcript", async () => {
      await page.goto(app.origin);
      await page.getByTestId("audio-input").waitFor({ state: "attached" });
      expect(await testIds()).toEqual([
        "audio-input",
        "language-select",
        "translate-input",
        "temperature-input",
        "initial_prompt-input",
      ]);
      expect(await page.getByTestId("audio-input").getAttribute("accept")).toBe("audio/*");
      await page.getByTestId("audio-input").setInputFiles({ name: "talk.wav", mimeType: "audio/wav", buffer: WAV });
      await page.getByTestId("audio-preview").waitFor();
      // The picked file's name shows whole, its size clear of the Remove button.
      expect(
        await page.locator(".picker-name").evaluate((name) => name.scrollWidth <= name.clientWidth && name.textContent),
      ).toBe("talk.wav");
      const size = (await page.locator(".picker-meta .muted").boundingBox())!;
      const remove = (await page.getByTestId("audio-remove").boundingBox())!;
      expect(size.x + size.width <= remove.x || size.y + size.height <= remove.y).toBe(true);
      await page.getByTestId("language-select").selectOption("fr");
      await page.getByTestId("run-button").click();

      const { json } = await ranPrediction();
      expect(json.input).toEqual({ audio: `data:audio/wav;base64,${WAV.toString("base64")}`, language: "fr" });
      expect(json.output).toMatch(/^Simulated transcript of 52 bytes of audio\/wav \(fr\)/);
      await expect.poll(() => page.getByTestId("output-text").textContent()).toBe(json.output);
    });
  });
});
