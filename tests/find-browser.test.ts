import { describe, expect, it } from "vitest";
import { BROWSER_LOCATIONS, findBrowser, type BrowserSearch } from "@/tests/e2e/find-browser";

const PLAYWRIGHT = "/home/me/.cache/ms-playwright/chromium-1/chrome-linux64/chrome";

/** A machine holding exactly `files`, with `env`; playwright-core says its download goes to PLAYWRIGHT. */
function machine(files: string[], env: Record<string, string | undefined> = {}): BrowserSearch & { asked: string[] } {
  const asked: string[] = [];
  return {
    env,
    asked,
    exists: (path) => {
      asked.push(path);
      return files.includes(path);
    },
    playwrightPath: () => PLAYWRIGHT,
  };
}

describe("findBrowser", () => {
  it("takes CHROMIUM_PATH when it exists, before any installed browser", () => {
    expect(findBrowser(machine(["/opt/my/chrome", "/usr/bin/chromium"], { CHROMIUM_PATH: "/opt/my/chrome" }))).toEqual({
      path: "/opt/my/chrome",
    });
  });

  it("reports a CHROMIUM_PATH that does not exist instead of using another browser", () => {
    const search = machine(["/usr/bin/chromium"], { CHROMIUM_PATH: "/nonexistent" });
    const found = findBrowser(search);
    expect(found.path).toBeNull();
    expect(found).toMatchObject({ message: expect.stringContaining("CHROMIUM_PATH=/nonexistent does not exist") });
    expect(search.asked).toEqual(["/nonexistent"]);
  });

  it("treats an empty CHROMIUM_PATH as unset", () => {
    expect(findBrowser(machine(["/usr/bin/chromium"], { CHROMIUM_PATH: "" }))).toEqual({ path: "/usr/bin/chromium" });
  });

  it.each([
    ["Debian", "/usr/bin/chromium"],
    ["Ubuntu", "/usr/bin/chromium-browser"],
    ["Ubuntu's snap", "/snap/bin/chromium"],
    ["Playwright's download", PLAYWRIGHT],
    ["Google Chrome", "/usr/bin/google-chrome"],
    ["Google Chrome (stable)", "/usr/bin/google-chrome-stable"],
    ["Google Chrome (opt)", "/opt/google/chrome/chrome"],
    ["Google Chrome on macOS", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"],
    ["Chromium on macOS", "/Applications/Chromium.app/Contents/MacOS/Chromium"],
  ])("finds %s's browser when it is the only one", (_name, file) => {
    expect(findBrowser(machine([file]))).toEqual({ path: file });
  });

  it("prefers the system's Chromium over Playwright's download and Chrome", () => {
    const search = machine([PLAYWRIGHT, "/usr/bin/google-chrome", "/usr/bin/chromium-browser"]);
    expect(findBrowser(search)).toEqual({ path: "/usr/bin/chromium-browser" });
  });

  it("skips Playwright when playwright-core knows no download for the platform", () => {
    const search = {
      ...machine(["/usr/bin/google-chrome"]),
      playwrightPath: () => {
        throw new Error("unsupported platform");
      },
    };
    expect(findBrowser(search)).toEqual({ path: "/usr/bin/google-chrome" });
  });

  it("with no browser anywhere, says in one line how to get one", () => {
    const search = machine([]);
    const found = findBrowser(search);
    expect(found.path).toBeNull();
    const message = found.path === null ? found.message : "";
    expect(message).not.toContain("\n");
    expect(message).toContain("apt-get install -y chromium");
    expect(message).toContain("npx playwright install chromium");
    expect(message).toContain("CHROMIUM_PATH");
    // Every place was looked at, Playwright's download where playwright-core says it is.
    expect(search.asked).toHaveLength(BROWSER_LOCATIONS.length);
    expect(search.asked).toContain(PLAYWRIGHT);
  });
});
