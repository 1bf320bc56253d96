import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimateDecodedBytes, toImageDataUrl } from "@/lib/server/image";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff, 0xe0];
const GIF87_MAGIC = [...Buffer.from("GIF87a")];
const GIF89_MAGIC = [...Buffer.from("GIF89a")];
const WEBP_MAGIC = [...Buffer.from("RIFF"), 0x24, 0x00, 0x00, 0x00, ...Buffer.from("WEBPVP8 ")];

function base64Of(magic: number[], extraBytes = 20): string {
  return Buffer.concat([Buffer.from(magic), Buffer.alloc(extraBytes, 7)]).toString("base64");
}

function expectRejected(value: string, reasonPattern: RegExp): void {
  const result = toImageDataUrl(value);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.reason).toMatch(reasonPattern);
}

describe("raw base64 is sniffed from its magic bytes", () => {
  it.each([
    ["PNG", PNG_MAGIC, "image/png"],
    ["JPEG", JPEG_MAGIC, "image/jpeg"],
    ["WEBP", WEBP_MAGIC, "image/webp"],
    ["GIF87a", GIF87_MAGIC, "image/gif"],
    ["GIF89a", GIF89_MAGIC, "image/gif"],
  ])("recognises %s", (_name, magic, mimeType) => {
    const payload = base64Of(magic);
    expect(toImageDataUrl(payload)).toEqual({ ok: true, dataUrl: `data:${mimeType};base64,${payload}` });
  });

  it("recognises an image no longer than its signature", () => {
    const payload = Buffer.from([0xff, 0xd8, 0xff]).toString("base64");
    expect(toImageDataUrl(payload)).toEqual({ ok: true, dataUrl: `data:image/jpeg;base64,${payload}` });
  });

  it("rejects bytes that are no known image, saying which formats it takes", () => {
    const payload = Buffer.from("just some text, not an image").toString("base64");
    expectRejected(payload, /not a PNG, JPEG, WEBP or GIF image/);
  });

  it("rejects a RIFF file that is not WEBP (e.g. WAV)", () => {
    const wav = [...Buffer.from("RIFF"), 0x24, 0x00, 0x00, 0x00, ...Buffer.from("WAVEfmt ")];
    expectRejected(base64Of(wav), /not a PNG, JPEG, WEBP or GIF image/);
  });

  it("rejects a truncated PNG signature", () => {
    expectRejected(Buffer.from(PNG_MAGIC.slice(0, 6)).toString("base64"), /not a PNG, JPEG, WEBP or GIF image/);
  });

  it("rejects a GIF with an unknown version", () => {
    expectRejected(base64Of([...Buffer.from("GIF88a")]), /not a PNG, JPEG, WEBP or GIF image/);
  });
});

describe("raw base64 padding is optional and restored", () => {
  it.each([1, 2])("restores %i stripped '=' characters", (stripped) => {
    // 29 and 28 bytes encode with one and two '=' respectively.
    const padded = base64Of(PNG_MAGIC, stripped === 1 ? 21 : 20);
    expect(padded.endsWith("=".repeat(stripped)) && !padded.endsWith("=".repeat(stripped + 1))).toBe(true);
    const unpadded = padded.replace(/=+$/, "");
    expect(toImageDataUrl(unpadded)).toEqual({ ok: true, dataUrl: `data:image/png;base64,${padded}` });
  });

  it("restores padding for any image bytes, matching Node's own encoding", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (tail, stripPadding) => {
        const canonical = Buffer.concat([Buffer.from(PNG_MAGIC), tail]).toString("base64");
        const input = stripPadding ? canonical.replace(/=+$/, "") : canonical;
        expect(toImageDataUrl(input)).toEqual({ ok: true, dataUrl: `data:image/png;base64,${canonical}` });
      }),
    );
  });
});

describe("raw base64 that is malformed is rejected", () => {
  const png = base64Of(PNG_MAGIC); // 28 bytes: ends with "=="

  it("rejects an empty string", () => {
    expectRejected("", /empty/);
  });

  it("rejects whitespace and line breaks, saying where", () => {
    expectRejected(`${png.slice(0, 8)}\n${png.slice(8)}`, /whitespace or a line break at position 8/);
    expectRejected(` ${png}`, /whitespace or a line break at position 0/);
    expectRejected(`${png.replace(/=+$/, "")} `, /whitespace or a line break/);
  });

  it.each([
    ["the URL-safe alphabet", "-_"],
    ["a non-ASCII character", "é"],
    ["a percent-encoded character", "%2B"],
  ])("rejects %s", (_name, intruder) => {
    expectRejected(png.slice(0, 12) + intruder + png.slice(12 + intruder.length), /not base64 at position 12/);
  });

  it("rejects '=' before the end", () => {
    expectRejected(`${png.slice(0, 4)}=${png.slice(5)}`, /padding may only appear at the end/);
  });

  it("rejects more than two padding characters", () => {
    expectRejected(`${png.replace(/=+$/, "")}===`, /more than two/);
  });

  it("rejects padding that does not complete a 4-character group", () => {
    // 30 data characters + "=" is 31 characters: not a multiple of 4.
    const thirtyChars = base64Of(PNG_MAGIC, 14).replace(/=+$/, "").slice(0, 30);
    expectRejected(`${thirtyChars}=`, /padding does not match/);
  });

  it("rejects a length of 4n+1 characters, which no byte string encodes to", () => {
    const unpadded = png.replace(/=+$/, "");
    const oneTooMany = unpadded.slice(0, unpadded.length - (unpadded.length % 4)) + "A";
    expect(oneTooMany.length % 4).toBe(1);
    expectRejected(oneTooMany, /length/);
  });

  it("rejects a string of nothing but padding", () => {
    expectRejected("==", /nothing but padding/);
  });

  it("gives reasons as sentences a user can read", () => {
    const result = toImageDataUrl("abc def");
    expect(result).toEqual({
      ok: false,
      reason: "The image is not valid base64: it contains whitespace or a line break at position 3.",
    });
  });
});

describe("data URLs", () => {
  const png = base64Of(PNG_MAGIC);

  it.each([
    `data:image/png;base64,${png}`,
    `data:image/jpeg;base64,${png}`,
    `data:image/webp;base64,${png.replace(/=+$/, "")}`,
    `data:image/png;name=photo.png;base64,${png}`,
    `DATA:IMAGE/PNG;BASE64,${png}`,
  ])("returns %s unchanged when its payload is valid base64", (dataUrl) => {
    expect(toImageDataUrl(dataUrl)).toEqual({ ok: true, dataUrl });
  });

  it.each([
    ["text/plain", `data:text/plain;base64,${png}`],
    ["application/octet-stream", `data:application/octet-stream;base64,${png}`],
    ["no media type", `data:;base64,${png}`],
    ["image/ without a subtype", `data:image/;base64,${png}`],
    ["image/ with a space in its subtype", `data:image/p ng;base64,${png}`],
  ])("rejects a data URL of type %s", (_name, dataUrl) => {
    expectRejected(dataUrl, /data URL is not an image/);
  });

  it.each([
    ["percent-encoded instead of base64", `data:image/png,${png}`],
    ["missing the comma", `data:image/png;base64${png}`],
    ["with no parameters at all, nor a comma", `data:image/png`],
    ["base64 that is not the last parameter", `data:image/png;base64;x=y,${png}`],
  ])("rejects a data URL %s", (_name, dataUrl) => {
    expectRejected(dataUrl, /must be base64-encoded/);
  });

  it.each([
    ["an empty payload", "data:image/png;base64,", /empty/],
    [
      "a line break",
      `data:image/png;base64,${png.slice(0, 10)}\r\n${png.slice(10)}`,
      /whitespace or a line break at position 10/,
    ],
    ["a 4n+1 length", `data:image/png;base64,${"A".repeat(9)}`, /length/],
    ["an invalid character", `data:image/png;base64,${png.slice(0, 5)}*${png.slice(6)}`, /not base64 at position 5/],
  ])("rejects a data URL whose payload has %s", (_name, dataUrl, reason) => {
    expectRejected(dataUrl, /The data URL's payload is not valid base64/);
    expectRejected(dataUrl, reason);
  });
});

describe("large inputs are read in one pass", () => {
  // 7.5 MB of bytes is 10 MB of base64, the order of the route's body cap. A quadratic or
  // backtracking pass over one of these takes hours, so the test's timeout catches it; no
  // assertion here depends on the machine's speed.
  const tenMegabytes = base64Of(PNG_MAGIC, 7_500_000);

  it("accepts 10 MB of raw base64", () => {
    const result = toImageDataUrl(tenMegabytes);
    expect(result).toEqual({ ok: true, dataUrl: `data:image/png;base64,${tenMegabytes}` });
  });

  it("finds an invalid character at the very end of 10 MB", () => {
    const result = toImageDataUrl(`${tenMegabytes.replace(/=+$/, "")}!`);
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/not base64 at position 10000/) });
  });

  it("refuses a 10 MB data URL header", () => {
    const result = toImageDataUrl(`data:image/png${";a=b".repeat(2_500_000)};base64x,AAAA`);
    expect(result.ok).toBe(false);
  });

  it("refuses 10 MB of padding characters", () => {
    const result = toImageDataUrl("=".repeat(10_000_000));
    expect(result.ok).toBe(false);
  });
});

describe("estimateDecodedBytes", () => {
  it("matches the decoded length for any bytes, padded or not", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const padded = Buffer.from(bytes).toString("base64");
        expect(estimateDecodedBytes(padded)).toBe(bytes.length);
        expect(estimateDecodedBytes(padded.replace(/=+$/, ""))).toBe(bytes.length);
      }),
    );
  });

  it("counts only the payload of a data URL", () => {
    const payload = Buffer.alloc(1234).toString("base64");
    expect(estimateDecodedBytes(`data:image/png;base64,${payload}`)).toBe(1234);
  });

  it("is zero for an empty string", () => {
    expect(estimateDecodedBytes("")).toBe(0);
  });
});
