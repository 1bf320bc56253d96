/**
 * Finds the Chromium (or Google Chrome) the browser test drives, wherever a machine has one:
 * `CHROMIUM_PATH` if set, else the usual install places of Debian, Ubuntu, Playwright's download,
 * Google Chrome and macOS. With none, the browser test is skipped with one line saying how to get one.
 */

/** Launch flags: no sandbox (containers, root in CI), no GPU, nothing fetched in the background. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Where each kind of install puts its binary, in the order they are tried (after CHROMIUM_PATH). */
export const BROWSER_LOCATIONS = [
  "/usr/bin/chromium", // Debian: apt-get install chromium
  "/usr/bin/chromium-browser", // Ubuntu
  "/snap/bin/chromium", // Ubuntu's snap
  "playwright", // npx playwright install chromium (wherever playwright-core says it puts it)
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/opt/google/chrome/chrome",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
] as const;

export const HOW_TO_GET_ONE =
  "install one (sudo apt-get install -y chromium, or npx playwright install chromium) or set CHROMIUM_PATH to a Chromium/Chrome binary";

export type BrowserSearch = {
  env: Record<string, string | undefined>;
  exists: (path: string) => boolean;
  /** Where `npx playwright install chromium` puts its browser (playwright-core's `chromium.executablePath()`). */
  playwrightPath: () => string | undefined;
};

export type FoundBrowser = { path: string } | { path: null; message: string };

export function findBrowser({ env, exists, playwrightPath }: BrowserSearch): FoundBrowser {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) {
    // A path the user set is never silently replaced by another browser.
    if (exists(chosen)) return { path: chosen };
    return { path: null, message: `Browser test skipped: CHROMIUM_PATH=${chosen} does not exist; ${HOW_TO_GET_ONE}.` };
  }
  for (const location of BROWSER_LOCATIONS) {
    const candidate = location === "playwright" ? safely(playwrightPath) : location;
    if (candidate && exists(candidate)) return { path: candidate };
  }
  return { path: null, message: `Browser test skipped: no Chromium or Chrome found; ${HOW_TO_GET_ONE}.` };
}

function safely(read: () => string | undefined): string | undefined {
  try {
    return read();
  } catch {
    return undefined; // playwright-core knows no download for this platform
  }
}
