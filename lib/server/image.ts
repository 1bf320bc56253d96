import "server-only";
// Turns the request's `image` field (raw base64 or a data URL) into the data URL Replicate
// accepts as a file input. Reasons are shown to users as a field description, so they are
// short sentences that say what to fix.

export type ImageDataUrlResult = { ok: true; dataUrl: string } | { ok: false; reason: string };

const NOT_AN_IMAGE = "The image is not a PNG, JPEG, WEBP or GIF image.";

const IMAGE_SIGNATURES: ReadonlyArray<{ mimeType: string; matches: (bytes: Uint8Array) => boolean }> = [
  { mimeType: "image/png", matches: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { mimeType: "image/jpeg", matches: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  {
    mimeType: "image/webp",
    matches: (b) => startsWith(b, ascii("RIFF")) && startsWith(b.subarray(8), ascii("WEBP")),
  },
  {
    mimeType: "image/gif",
    matches: (b) => startsWith(b, ascii("GIF87a")) || startsWith(b, ascii("GIF89a")),
  },
];

// 16 base64 characters decode to 12 bytes: enough for the longest signature (RIFF....WEBP).
const SNIFF_CHARS = 16;

const IMAGE_MEDIA_TYPE = /^image\/[a-z0-9!#$&^_.+-]+$/i;

export function toImageDataUrl(value: string): ImageDataUrlResult {
  if (isDataUrl(value)) return checkDataUrl(value);

  const problem = findBase64Problem(value);
  if (problem) return { ok: false, reason: `The image is not valid base64: ${problem}.` };

  const mimeType = sniffImageType(value);
  if (!mimeType) return { ok: false, reason: NOT_AN_IMAGE };
  return { ok: true, dataUrl: `data:${mimeType};base64,${withPadding(value)}` };
}

// Decoded size without decoding: lets a caller refuse an oversized image cheaply.
// Accepts a data URL too (only its payload counts).
export function estimateDecodedBytes(base64: string): number {
  const payload = isDataUrl(base64) ? base64.slice(base64.indexOf(",") + 1) : base64;
  let length = payload.length;
  if (payload.endsWith("==")) length -= 2;
  else if (payload.endsWith("=")) length -= 1;
  return Math.floor((length * 3) / 4);
}

// `data:image/<subtype>[;param=value]*;base64,<payload>` (RFC 2397; scheme and tokens are
// case-insensitive). Parsed with indexOf rather than one regex so a huge header stays cheap.
function isDataUrl(value: string): boolean {
  return value.slice(0, 5).toLowerCase() === "data:";
}

function checkDataUrl(value: string): ImageDataUrlResult {
  const comma = value.indexOf(",");
  const header = comma === -1 ? value.slice(5) : value.slice(5, comma);
  const firstSemicolon = header.indexOf(";");
  const mediaType = firstSemicolon === -1 ? header : header.slice(0, firstSemicolon);
  if (!IMAGE_MEDIA_TYPE.test(mediaType)) {
    return { ok: false, reason: "The data URL is not an image: it must start with data:image/<type>." };
  }
  const encoding = firstSemicolon === -1 ? "" : header.slice(header.lastIndexOf(";") + 1);
  if (comma === -1 || encoding.toLowerCase() !== "base64") {
    return { ok: false, reason: "The data URL must be base64-encoded (data:image/png;base64,...)." };
  }
  const problem = findBase64Problem(value.slice(comma + 1));
  if (problem) return { ok: false, reason: `The data URL's payload is not valid base64: ${problem}.` };
  return { ok: true, dataUrl: value };
}

// A single linear pass, so a 10 MB string costs milliseconds whatever it contains.
// Returns a fragment of the user-facing reason, or null when the text is valid base64.
function findBase64Problem(text: string): string | null {
  if (text.length === 0) return "it is empty";

  let dataLength = text.length;
  while (dataLength > 0 && text.charCodeAt(dataLength - 1) === 0x3d /* = */) dataLength--;
  const padding = text.length - dataLength;

  for (let i = 0; i < dataLength; i++) {
    const code = text.charCodeAt(i);
    if (isBase64Char(code)) continue;
    if (code === 0x3d) return `"=" padding may only appear at the end (position ${i})`;
    if (isWhitespace(code)) return `it contains whitespace or a line break at position ${i}`;
    return `it contains a character that is not base64 at position ${i}`;
  }

  if (dataLength === 0) return "it holds nothing but padding";
  if (padding > 2) return 'it ends with more than two "=" padding characters';
  if (padding > 0 && text.length % 4 !== 0) return "its padding does not match its length";
  if (dataLength % 4 === 1) return "its length is one character too many or too few";
  return null;
}

function isBase64Char(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2b || // +
    code === 0x2f // /
  );
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c || code === 0x0b;
}

function sniffImageType(base64: string): string | null {
  const head = Buffer.from(base64.slice(0, SNIFF_CHARS), "base64");
  return IMAGE_SIGNATURES.find((signature) => signature.matches(head))?.mimeType ?? null;
}

function withPadding(base64: string): string {
  const remainder = base64.length % 4;
  return remainder === 0 ? base64 : base64 + "=".repeat(4 - remainder);
}

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function ascii(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0));
}
