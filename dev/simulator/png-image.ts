import { deflateSync } from "node:zlib";
import { seedHue } from "./svg-image";

/** A small real PNG (a gradient in the seed's colour) for clients that ask for `output_format: "png"`. */

const SIZE = 64;

export function renderSeedPng(seed: number): Uint8Array<ArrayBuffer> {
  const [r, g, b] = hslToRgb(seedHue(seed), 0.65, 0.45);
  const rowLength = 1 + SIZE * 3;
  const raw = Buffer.alloc(rowLength * SIZE);
  for (let y = 0; y < SIZE; y++) {
    raw[y * rowLength] = 0; // filter: none
    for (let x = 0; x < SIZE; x++) {
      const shade = 1 - (x + y) / (4 * SIZE);
      const offset = y * rowLength + 1 + x * 3;
      raw[offset] = Math.round(r * shade);
      raw[offset + 1] = Math.round(g * shade);
      raw[offset + 2] = Math.round(b * shade);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const png = Buffer.concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(raw)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
  return new Uint8Array(png);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Signature and IHDR: the same bytes for every seed (33, a multiple of 3, so its base64 can be reused). */
const HEAD_BYTES = 8 + 12 + 13;
const paddedHeads = new Map<number, string>();

/**
 * The seed's PNG as a `data:` URL of about `bytes` bytes of PNG, the way sync-mode answers and file
 * streams carry output files: a tEXt chunk after the header fills it up. The header and that chunk
 * are the same for every seed, so their base64 is made once per size (a 300 KB one costs ms).
 */
export function seedPngDataUrl(seed: number, bytes: number): string {
  const png = Buffer.from(renderSeedPng(seed));
  let head = paddedHeads.get(bytes);
  if (head === undefined) {
    // Chunk = 12 bytes around its data; keep head + chunk a multiple of 3 so the base64 joins cleanly.
    let dataLength = Math.max(COMMENT.length, bytes - png.length - 12);
    while ((HEAD_BYTES + 12 + dataLength) % 3 !== 0) dataLength += 1;
    head = Buffer.concat([png.subarray(0, HEAD_BYTES), pngChunk("tEXt", paddingText(dataLength))]).toString("base64");
    if (paddedHeads.size >= 8) paddedHeads.clear();
    paddedHeads.set(bytes, head);
  }
  return `data:image/png;base64,${head}${png.subarray(HEAD_BYTES).toString("base64")}`;
}

const COMMENT = "Comment\0";

function paddingText(length: number): Buffer {
  const filler = "simulated padding, standing in for a real image's bytes. ";
  return Buffer.from(COMMENT + filler.repeat(Math.ceil(length / filler.length)).slice(0, length - COMMENT.length), "latin1");
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
}
