/**
 * Small real WebP and JPEG files (32x32, a gradient like the seed PNG's), for outputs whose
 * `output_format` asks for them: the bytes match the extension and content type they are served
 * with. Made once with sharp from renderSeedPng(3); the same picture for every seed.
 */

const WEBP_BASE64 =
  "UklGRlQAAABXRUJQVlA4IEgAAABwAwCdASogACAAPu1ysVKzpqSvqAgCcB2JQBcNOBdKAQo6sMAA/qt3cD0+ttkdkV1d/vo8bAIudPaa1RbQTsrkRVDbb8QAAAA=";

const JPEG_BASE64 =
  "/9j/2wBDABQODxIPDRQSEBIXFRQYHjIhHhwcHj0sLiQySUBMS0dARkVQWnNiUFVtVkVGZIhlbXd7gYKBTmCNl4x9lnN+gXz/2wBDARUXFx4aHjshITt8" +
  "U0ZTfHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHz/wAARCAAgACADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAA" +
  "AAAAAwAE/8QAFhABAQEAAAAAAAAAAAAAAAAAAgAB/8QAGAEAAgMAAAAAAAAAAAAAAAAAAAMBAgX/xAAVEQEBAAAAAAAAAAAAAAAAAAAAAf/aAAwDAQACEQMR" +
  "AD8A1LY0qSjSsiQ5JRraWxpV5A0JRraSjSiQJKNKko0pkiH/2Q==";

export const SAMPLE_IMAGES = {
  webp: { contentType: "image/webp", base64: WEBP_BASE64 },
  jpg: { contentType: "image/jpeg", base64: JPEG_BASE64 },
} as const;

export function sampleImageBytes(format: keyof typeof SAMPLE_IMAGES): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(SAMPLE_IMAGES[format].base64, "base64"));
}

export function sampleImageDataUrl(format: keyof typeof SAMPLE_IMAGES): string {
  const { contentType, base64 } = SAMPLE_IMAGES[format];
  return `data:${contentType};base64,${base64}`;
}
