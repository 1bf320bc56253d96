import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildCurlCommand, shellQuote } from "@/lib/browser/curl-command";
import { describeSteps, formatMetric, toTerminalText } from "@/lib/browser/format";
import { hasOutput, toOutputView } from "@/lib/browser/output-view";
import type { FormValues } from "@/lib/browser/form-schema";
import { randomSeed, toRequestBody } from "@/lib/browser/request-body";
import { asSeedBody, SEED_FIELDS } from "@/tests/support/seed-form";

describe("toRequestBody", () => {
  const body = (values: FormValues) => asSeedBody(toRequestBody(SEED_FIELDS, values));

  it("leaves out untouched and emptied optional fields and the None style", () => {
    expect(body({ prompt: "a cat", seed: "  ", style: "" })).toEqual({ prompt: "a cat" });
    expect(body({ prompt: "a cat" })).toEqual({ prompt: "a cat" });
    // A required text field is sent even empty, for the route to say it must not be.
    expect(body({})).toEqual({ prompt: "" });
  });

  it("sends numbers as numbers and anything else as typed, for the route to judge", () => {
    expect(body({ prompt: "p", seed: "42", style: "anime", image: "data:image/png;base64,AA==" })).toEqual({
      prompt: "p",
      seed: 42,
      style: "anime",
      image: "data:image/png;base64,AA==",
    });
    expect(body({ seed: "-3" }).seed).toBe(-3);
    expect(body({ seed: "1.5" }).seed).toBe(1.5);
    expect(body({ seed: "12abc" }).seed).toBe("12abc");
  });

  it("draws random seeds a signed 32-bit integer can hold", () => {
    expect(randomSeed(() => 0)).toBe(0);
    expect(randomSeed(() => 0.999999999999)).toBe(2 ** 31 - 1);
  });
});

/** Runs the command in a real shell where a function named curl prints the arguments the real curl would get. */
function curlArguments(command: string, prelude = ""): string[] {
  const printArgs = `curl() { for a in "$@"; do printf '%s\\0' "$a"; done; }`;
  return execFileSync("sh", ["-c", `${prelude}\n${printArgs}\n${command}`], { encoding: "utf8" })
    .split("\0")
    .slice(0, -1);
}

describe("buildCurlCommand", () => {
  it("survives a real shell: quotes, $, backticks and newlines stay literal", () => {
    const text = `it's "quoted" $HOME \`id\` \\ \n done`;
    expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(text)}`], { encoding: "utf8" })).toBe(text);
  });

  it("posts the body as JSON to the given URL", () => {
    const command = buildCurlCommand("http://localhost:3000/api/ai/replicate", { prompt: "Bob's cat", seed: 1 });
    const args = curlArguments(command);
    expect(args).toEqual([
      "-X",
      "POST",
      "http://localhost:3000/api/ai/replicate",
      "-H",
      "Content-Type: application/json",
      "-d",
      `{"prompt":"Bob's cat","seed":1}`,
    ]);
  });

  it("sends the access key from a shell variable, never the key itself", () => {
    const command = buildCurlCommand(
      "http://localhost:3000/api/ai/replicate",
      { prompt: "a" },
      { authorizationVariable: "ROUTE_API_KEY" },
    );
    expect(curlArguments(command, "ROUTE_API_KEY=k-42")).toContain("Authorization: Bearer k-42");
    expect(buildCurlCommand("http://x/", {}, { authorizationVariable: "$(reboot)" })).not.toContain("reboot");
  });

  it("reads a secret input from a shell variable named after it, never copying its value", () => {
    const body = { prompt: "it's", api_key: "sk-live-123", "hf-token": "hf_456" };
    const command = buildCurlCommand("http://x/", body, { secretFields: ["api_key", "hf-token", "absent"] });
    expect(command).not.toContain("sk-live");
    expect(command).not.toContain("hf_456");
    const args = curlArguments(command, "API_KEY=from-shell; HF_TOKEN=other");
    expect(JSON.parse(args[args.length - 1])).toEqual({ prompt: "it's", api_key: "from-shell", "hf-token": "other" });
  });
});

describe("toOutputView", () => {
  const image = (url: string) => ({ kind: "image", url });

  it("shows URLs as images and joins text tokens", () => {
    expect(toOutputView(["https://a/1.png", "https://a/2.png"])).toEqual({
      files: [image("https://a/1.png"), image("https://a/2.png")],
      text: null,
      json: null,
    });
    expect(toOutputView("https://a/1.png")).toEqual({ files: [image("https://a/1.png")], text: null, json: null });
    expect(toOutputView(["Hello", " ", "world"])).toEqual({ files: [], text: "Hello world", json: null });
    expect(toOutputView("Hello wor")).toEqual({ files: [], text: "Hello wor", json: null });
  });

  it("tells audio, video and other files apart by extension or data: URL type", () => {
    expect(toOutputView("https://replicate.delivery/x/speech.wav?sig=1").files).toEqual([
      { kind: "audio", url: "https://replicate.delivery/x/speech.wav?sig=1" },
    ]);
    expect(toOutputView(["https://a/clip.MP4", "https://a/notes.txt"]).files.map((file) => file.kind)).toEqual(["video", "file"]);
    expect(toOutputView("data:audio/mpeg;base64,AAAA").files[0].kind).toBe("audio");
    expect(toOutputView("data:video/webm;base64,AAAA").files[0].kind).toBe("video");
    expect(toOutputView("data:application/zip;base64,AAAA").files[0].kind).toBe("file");
    // A URL naming no type is taken for an image, as the page always did.
    expect(toOutputView("https://a/out").files[0].kind).toBe("image");
    // A kept copy's URL (app-relative, a signed token naming no type) is a file, taken for an image.
    const kept = "/api/ai/replicate/outputs/v1.MTIzL291dHB1dC4wLnN2Zw.Qm9sZC1tYWM-x_yZ0123456789abcdefghijklmnopqrstu";
    expect(toOutputView([kept]).files).toEqual([image(kept)]);
    expect(toOutputView("/usr/bin").text).toBe("/usr/bin");
  });

  it("reads tokens as text when the output schema says so, even where they look like URLs", () => {
    const tokens = {
      type: "array",
      items: { type: "string" },
      "x-cog-array-type": "iterator",
      "x-cog-array-display": "concatenate",
    };
    const links = ["https://example.com/a.png", "\nhttps://example.com/b.png"];
    expect(toOutputView(["https://example.com/a.png"], tokens)).toEqual({
      files: [],
      text: "https://example.com/a.png",
      json: null,
    });
    expect(toOutputView(["https://example.com/a.png"]).text).toBeNull();
    expect(toOutputView(links, tokens).text).toBe(links.join(""));
    expect(toOutputView("https://a/1.png", { type: "string" }).text).toBe("https://a/1.png");
    expect(toOutputView(["https://a/1.png"], { type: "array", items: { type: "string", format: "uri" } }).files).toEqual([
      image("https://a/1.png"),
    ]);
  });

  it("shows nothing before output and other values as formatted JSON", () => {
    expect(toOutputView(null)).toEqual({ files: [], text: null, json: null });
    expect(hasOutput(toOutputView(null))).toBe(false);
    const view = toOutputView({ score: 1, labels: ["cat"] });
    expect(view).toEqual({ files: [], text: null, json: '{\n  "score": 1,\n  "labels": [\n    "cat"\n  ]\n}' });
    expect(hasOutput(view)).toBe(true);
    expect(toOutputView([1, 2]).json).toBe("[\n  1,\n  2\n]");
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
