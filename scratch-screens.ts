import { chromium } from "playwright-core";
import { freePort, simulatedReplicateEnv, startNextServer } from "@/dev/app-harness";
import { startSimulatorServer } from "@/dev/simulator/server";

const out = process.argv[2] ?? "/tmp/i24";
const simulator = await startSimulatorServer({ runMs: 1500, bootMs: 200 });
const app = await startNextServer({ port: await freePort(), env: simulatedReplicateEnv(simulator.baseUrl, { REPLICATE_POLL_INTERVAL_MS: "100", ROUTE_API_KEY: "", REPLICATE_WEBHOOK_URL: "", REPLICATE_RATE_LIMIT: "" }) });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => console.log("pageerror", e.message));
  page.on("console", (m) => m.type() === "error" && console.log("console", m.text()));
  await page.goto(app.origin);
  await page.getByTestId("prompt-input").fill("A cat [fail]");
  await page.getByTestId("run-button").click();
  await page.getByTestId("error-message").waitFor({ timeout: 15000 });
  await page.getByTestId("prompt-input").fill("A lighthouse on a cliff at dusk, volumetric light");
  await page.getByTestId("seed-input").fill("42");
  await page.getByTestId("run-button").click();
  await page.getByTestId("output-image").waitFor({ timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Succeeded");
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${out}-1280.png` });
  await page.screenshot({ path: `${out}-1280-full.png`, fullPage: true });
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(app.origin);
  await phone.getByTestId("prompt-input").fill("A slow harbour [run:3000]");
  await phone.getByTestId("run-button").click();
  await phone.waitForTimeout(1200);
  await phone.screenshot({ path: `${out}-390-running.png` });
  await phone.getByTestId("output-image").waitFor({ timeout: 15000 });
  await phone.waitForTimeout(800);
  await phone.screenshot({ path: `${out}-390.png`, fullPage: true });
} finally {
  await browser.close();
  await app.stop();
  await simulator.close();
}
