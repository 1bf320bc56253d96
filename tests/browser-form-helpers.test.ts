import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildCurlCommand, shellQuote } from "@/lib/browser/curl-command";
import { describeSteps, formatMetric, toTerminalText } from "@/lib/browser/format";
import { toOutputView } from "@/lib/browser/output-view";
import { EMPTY_FORM, randomSeed, toRequestBody } from "@/lib/browser/request-body";

describe("toRequestBody", () => {
  it("leaves out empty optional fields and the 'none' style", () => {
    expect(toRequestBody({ ...EMPTY_FORM, prompt: "a cat", seed: "  " })).toEqual({ prompt: "a cat" });
  });

  it("sends numbers as numbers and anything else as typed, for the route to judge", () => {
    expect(toRequestBody({ ...EMPTY_FORM, prompt: "p", seed: "42", style: "anime", image: "data:image/png;base64,AA==" })).toEqual({
      prompt: "p",
      seed: 42,
      style: "anime",
      image: "data:image/png;base64,AA==",
    });
    expect(toRequestBody({ ...EMPTY_FORM, seed: "-3" }).seed).toBe(-3);
    expect(toRequestBody({ ...EMPTY_FORM, seed: "1.5" }).seed).toBe(1.5);
    expect(toRequestBody({ ...EMPTY_FORM, seed: "12abc" }).seed).toBe("12abc");
  });

  it("draws random seeds a signed 32-bit integer can hold", () => {
    expect(randomSeed(() => 0)).toBe(0);
    expect(randomSeed(() => 0.999999999999)).toBe(2 ** 31 - 1);
  });
});

/** Runs the command in a real shell where a function named curl prints the arguments the real curl would get. */
function curlArguments(command: string, prelude = ""): string[] {
  const printArgs = `curl() { for a in "$@"; do printf '%s\\0' "$a"; done; }`;
  return execFileSync("sh", ["-c", `${prelude}\n${printArgs}\n${command}`], { encoding: "utf8" }).split("\0").slice(0, -1);
}

describe("buildCurlCommand", () => {
  it("survives a real shell: quotes, $, backticks and newlines stay literal", () => {
    const text = `it's "quoted" $HOME \`id\` \\ \n done`;
    expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(text)}`], { encoding: "utf8" })).toBe(text);
  });

  it("posts the body as JSON to the given URL", () => {
    const command = buildCurlCommand("http://localhost:3000/api/ai/replicate", { prompt: "Bob's cat", seed: 1 });
    const args = curlArguments(command);
    expect(args).toEqual(["-X", "POST", "http://localhost:3000/api/ai/replicate", "-H", "Content-Type: application/json", "-d", `{"prompt":"Bob's cat","seed":1}`]);
  });

  it("sends the access key from a shell variable, never the key itself", () => {
    const command = buildCurlCommand("http://localhost:3000/api/ai/replicate", { prompt: "a" }, { authorizationVariable: "ROUTE_API_KEY" });
    expect(curlArguments(command, "ROUTE_API_KEY=k-42")).toContain("Authorization: Bearer k-42");
    expect(buildCurlCommand("http://x/", {}, { authorizationVariable: "$(reboot)" })).not.toContain("reboot");
  });
});

describe("toOutputView", () => {
  it("shows URLs as images and joins text tokens", () => {
    expect(toOutputView(["https://a/1.png", "https://a/2.png"])).toEqual({ images: ["https://a/1.png", "https://a/2.png"], text: null });
    expect(toOutputView("https://a/1.png")).toEqual({ images: ["https://a/1.png"], text: null });
    expect(toOutputView(["Hello", " ", "world"])).toEqual({ images: [], text: "Hello world" });
    expect(toOutputView("Hello wor")).toEqual({ images: [], text: "Hello wor" });
  });

  it("shows nothing before output and other values as JSON", () => {
    expect(toOutputView(null)).toEqual({ images: [], text: null });
    expect(toOutputView({ score: 1 }).text).toContain('"score": 1');
  });
});

describe("format", () => {
  it("names the refiner pass", () => {
    expect(describeSteps({ percentage: 40, current: 12, total: 30, pass: 1 })).toBe("12/30");
    expect(describeSteps({ percentage: 40, current: 2, total: 5, pass: 2 })).toBe("2/5 · pass 2 (refiner)");
  });

  it("keeps only the last redraw of a tqdm bar", () => {
    expect(toTerminalText("seed 1\n  0%| | 0/3\r 33%|█ | 1/3\r100%|███| 3/3\r\ndone\n")).toBe("seed 1\n100%|███| 3/3\ndone\n");
  });

  it("formats metrics only when present", () => {
    expect(formatMetric(1.23456)).toBe("1.23 s");
    expect(formatMetric(undefined)).toBeNull();
  });
});
