import { stripDirectives } from "./prompt-directives";

/**
 * The simulated image model's output: a real SVG drawn from the input (prompt, seed, style, and the
 * input image if one was given), so a demo shows that the request reached the model intact.
 */

const SIZE = 512;
const LINE_CHARS = 30;
const MAX_LINES = 6;

export interface ImageInput {
  prompt: string;
  seed: number;
  style?: unknown;
  image?: unknown;
}

export function renderPredictionSvg({ prompt, seed, style, image }: ImageInput): string {
  const hue = seedHue(seed);
  const imageHref = embeddableImage(image);
  const lines = wrap(stripDirectives(prompt) || "(empty prompt)");
  const textTop = imageHref ? 320 : 120;
  const caption = typeof style === "string" && style !== "" ? `seed ${seed} · style ${style}` : `seed ${seed}`;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">`,
    `<stop offset="0" stop-color="hsl(${hue}, 65%, 45%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360}, 65%, 22%)"/>`,
    `</linearGradient></defs>`,
    `<rect width="${SIZE}" height="${SIZE}" fill="url(#bg)"/>`,
    imageHref
      ? `<image href="${escapeXml(imageHref)}" x="32" y="32" width="448" height="260" preserveAspectRatio="xMidYMid meet"/>`
      : "",
    `<g font-family="system-ui, sans-serif" fill="#fff">`,
    ...lines.map((line, i) => `<text x="32" y="${textTop + i * 30}" font-size="24">${escapeXml(line)}</text>`),
    `<text x="32" y="${SIZE - 56}" font-size="18" opacity="0.85">${escapeXml(caption)}</text>`,
    `<text x="32" y="${SIZE - 28}" font-size="14" opacity="0.6">simulated replicate</text>`,
    `</g></svg>`,
  ].join("\n");
}

/** Hue in degrees derived from the seed (golden-angle steps keep neighbouring seeds apart). */
export function seedHue(seed: number): number {
  return Math.round((((seed * 137.508) % 360) + 360) % 360);
}

/** Text safe inside an XML element or attribute: entities escaped, characters XML forbids dropped. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** A data URL or http(s) URL for the input image, accepting raw base64 as the route may send it. */
function embeddableImage(image: unknown): string | null {
  if (typeof image !== "string" || image === "") return null;
  if (/^https?:\/\//.test(image)) return image;
  if (/^data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]*$/.test(image)) return image;
  if (/^[A-Za-z0-9+/=\s]+$/.test(image)) return `data:${guessImageType(image)};base64,${image}`;
  return null;
}

function guessImageType(base64: string): string {
  if (base64.startsWith("/9j/")) return "image/jpeg";
  if (base64.startsWith("R0lGOD")) return "image/gif";
  if (base64.startsWith("UklGR")) return "image/webp";
  return "image/png";
}

function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    for (const piece of chunk(word, LINE_CHARS)) {
      const candidate = line ? `${line} ${piece}` : piece;
      if (Array.from(candidate).length <= LINE_CHARS) line = candidate;
      else {
        lines.push(line);
        line = piece;
      }
    }
  }
  lines.push(line);
  if (lines.length <= MAX_LINES) return lines;
  return [...lines.slice(0, MAX_LINES - 1), `${lines[MAX_LINES - 1]}…`];
}

function chunk(word: string, size: number): string[] {
  const chars = Array.from(word);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(""));
  return pieces.length > 0 ? pieces : [""];
}
