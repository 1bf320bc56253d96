/**
 * The project's documentation as the tests read it: README.md and docs/*.md, their fenced code
 * blocks, their links, and the anchors GitHub gives their headings.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

export interface MarkdownFile {
  /** Relative to the project's root, e.g. `docs/http-api.md`. */
  path: string;
  text: string;
}

export function documentation(): MarkdownFile[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs].map((path) => ({ path, text: readFileSync(join(ROOT, path), "utf8") }));
}

export interface CodeBlock {
  language: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split("\n");
  let open: { language: string; line: number; body: string[] } | undefined;
  lines.forEach((line, index) => {
    const fence = /^```(\S*)/.exec(line);
    if (open) {
      if (fence && line.trim() === "```") {
        blocks.push({ language: open.language, code: open.body.join("\n"), line: open.line });
        open = undefined;
      } else {
        open.body.push(line);
      }
    } else if (fence) {
      open = { language: fence[1], line: index + 1, body: [] };
    }
  });
  return blocks;
}

/** The text outside fenced code blocks and inline code spans, where links are links. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, "")).replace(/`[^`\n]*`/g, "``");
}

export interface Link {
  target: string;
  line: number;
}

/** Markdown links and images: `[text](target)` and `![alt](target)`. */
export function links(text: string): Link[] {
  const body = prose(text);
  const found: Link[] = [];
  for (const match of body.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    found.push({ target: match[1], line: body.slice(0, match.index).split("\n").length });
  }
  return found;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const headings = text
    .replace(/^```[\s\S]*?^```/gm, "")
    .split("\n")
    .flatMap((line) => {
      const heading = /^#{1,6} (.*)$/.exec(line);
      return heading ? [heading[1]] : [];
    });
  for (const heading of headings) {
    const base = heading
      .trim()
      .toLowerCase()
      .replace(/<[^>]+>/g, "")
      .replace(/[^\p{L}\p{N}\- _]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}
