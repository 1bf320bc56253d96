// The README and the guides in docs/ link to each other and into the code: every link must lead
// somewhere, and every #anchor to a heading that exists.

import { existsSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { anchors, documentation, links, ROOT } from "@/tests/support/markdown";

const files = documentation();
const byPath = new Map(files.map((file) => [file.path, file]));

describe("the documentation's links resolve", () => {
  it("keeps the README short: at most 150 lines", () => {
    expect(byPath.get("README.md")!.text.trimEnd().split("\n").length).toBeLessThanOrEqual(150);
  });

  it("links from the README to every guide in docs/", () => {
    const linked = new Set(links(byPath.get("README.md")!.text).map((link) => link.target.split("#")[0]));
    const guides = files.map((file) => file.path).filter((path) => path.startsWith("docs/"));
    expect(guides.filter((guide) => !linked.has(guide))).toEqual([]);
  });

  it.each(files.map((file) => [file.path, file] as const))("%s: every relative link and anchor resolves", (_path, file) => {
    const broken: string[] = [];
    for (const { target, line } of links(file.text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
      const [pathPart, anchor] = target.split("#", 2);
      const resolved = pathPart === "" ? file.path : normalize(join(dirname(file.path), decodeURIComponent(pathPart)));
      if (resolved.startsWith("..") || !existsSync(join(ROOT, resolved))) {
        broken.push(`${file.path}:${line}: ${target} (no such file)`);
        continue;
      }
      if (anchor === undefined) continue;
      const linked = byPath.get(resolved);
      if (!linked || statSync(join(ROOT, resolved)).isDirectory()) {
        broken.push(`${file.path}:${line}: ${target} (an anchor into a file that is not a guide)`);
      } else if (!anchors(linked.text).has(anchor)) {
        broken.push(`${file.path}:${line}: ${target} (no heading with that anchor in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("reads GitHub's anchors as GitHub writes them", () => {
    const text =
      "# The HTTP API\n## `POST /api/ai/replicate`\n## Use your app's own sessions (NextAuth / Auth.js)\n## Answers\n## Answers\n```sh\n# not a heading\n```";
    expect([...anchors(text)]).toEqual([
      "the-http-api",
      "post-apiaireplicate",
      "use-your-apps-own-sessions-nextauth--authjs",
      "answers",
      "answers-1",
    ]);
    expect(links("see [a](b.md#c) and `[x](y)`\n```\n[z](w)\n```\n![i](d.png)").map((link) => link.target)).toEqual([
      "b.md#c",
      "d.png",
    ]);
  });
});
