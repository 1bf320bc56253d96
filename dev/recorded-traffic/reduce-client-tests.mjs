#!/usr/bin/env node
/**
 * Reduces the Replicate answers that the official clients' test suites replay to fixtures under
 * tests/fixtures/recorded/, grouped by the commit that first had them (every version in each
 * repository's history):
 * - replicate-javascript `index.test.ts`: each distinct nock `.reply(status, body)` whose body is a
 *   JSON literal, with the request it answers, and each Server-Sent Event body its stream tests read;
 * - replicate-go `stream_test.go`: each event-stream body its test servers write (its other tests
 *   build answers from Go structs, not recorded JSON, and are left out).
 *
 * A dev tool, run by hand once against a local clone; the fixtures are committed data and nothing in
 * the tests or CI runs it. Bodies that are functions or name variables are left out (they are not
 * data), and so are answers the route never reads (trainings, deployments' settings, accounts...). Long data URLs are cut to a short stub of the same media type.
 *
 *     node dev/recorded-traffic/reduce-client-tests.mjs javascript /path/to/replicate-javascript tests/fixtures/recorded
 *     node dev/recorded-traffic/reduce-client-tests.mjs go /path/to/replicate-go tests/fixtures/recorded
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

const [kind, repo, outDir] = process.argv.slice(2);
const SOURCES = {
  javascript: {
    repository: "replicate/replicate-javascript",
    file: "index.test.ts",
    read: (text) => [...answersOf(text), ...streamsOf(text)],
  },
  go: { repository: "replicate/replicate-go", file: "stream_test.go", read: (text) => goStreamsOf(text) },
};
const { repository: REPOSITORY, file: FILE, read } = SOURCES[kind] ?? {};
if (!FILE) throw new Error("usage: reduce-client-tests.mjs javascript|go <repository clone> <out dir>");
const git = (...args) => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });

/** The text from `open` (an opening bracket) to its matching close, skipping strings and template literals. */
function balanced(text, open) {
  const pairs = { "(": ")", "{": "}", "[": "]" };
  const stack = [];
  for (let i = open; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"' || c === "'" || c === "`") {
      for (i += 1; i < text.length && text[i] !== c; i += 1) if (text[i] === "\\") i += 1;
    } else if (pairs[c]) stack.push(pairs[c]);
    else if (c === stack.at(-1)) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, i + 1);
    }
  }
  return null;
}

function evaluate(source) {
  try {
    return { ok: true, value: new Function(`"use strict"; return (${source});`)() };
  } catch {
    return { ok: false };
  }
}

function stubDataUrls(value) {
  if (typeof value === "string") {
    const match = /^data:([\w.+-]+\/[\w.+-]+)?(;[^,]*)?,(.{64,})$/s.exec(value);
    return match ? `data:${match[1] ?? "application/octet-stream"};base64,AA==` : value;
  }
  if (Array.isArray(value)) return value.map(stubDataUrls);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stubDataUrls(v)]));
  return value;
}

function answersOf(text) {
  const answers = [];
  const reply = /\.(get|post|delete|put|patch)\(\s*(["'`])([^"'`]*)\2[^;]*?\.reply\(/g;
  for (let match; (match = reply.exec(text)); ) {
    const open = match.index + match[0].length - 1;
    const args = balanced(text, open);
    if (!args) continue;
    const parsed = evaluate(`[${args.slice(1, -1)}]`);
    if (!parsed.ok || typeof parsed.value[0] !== "number") continue;
    const [status, body] = parsed.value;
    if (typeof body === "function" || !readByTheRoute(match[1].toUpperCase(), match[3], status)) continue;
    answers.push({
      request: { method: match[1].toUpperCase(), path: match[3] },
      response: { status, body: stubDataUrls(body ?? null) },
    });
  }
  return answers;
}

/** Predictions, files, the webhook secret, models and versions, and every error; not trainings, hardware, accounts... */
function readByTheRoute(method, requestPath, status) {
  if (status >= 400) return true;
  const p = requestPath.split("?")[0];
  if (/^\/(predictions|files|webhooks)\b/.test(p) || /^\/(models|deployments)\/[^/]+\/[^/]+\/predictions$/.test(p)) return true;
  return method === "GET" && /^\/models\/[^/]+\/[^/]+(\/versions(\/[^/]+)?)?$/.test(p);
}

function streamsOf(text) {
  const streams = [];
  const create = /createStream\(\s*`/g;
  for (let match; (match = create.exec(text)); ) {
    const start = match.index + match[0].length;
    const end = text.indexOf("`", start);
    const body = text.slice(start, end).replace(/^\s+/gm, (indent) => indent.replace(/[ \t]+/g, ""));
    if (/\$\{/.test(body)) continue;
    streams.push({
      request: { method: "GET", path: "(urls.stream)" },
      response: { status: 200, contentType: "text/event-stream", text: body },
    });
  }
  return streams;
}

function goStreamsOf(text) {
  const streams = [];
  const write = /fmt\.Fprint\(w, `([^`]*)`\)/g;
  for (let match; (match = write.exec(text)); ) {
    streams.push({
      request: { method: "GET", path: "(urls.stream)" },
      response: { status: 200, contentType: "text/event-stream", text: match[1] },
    });
  }
  return streams;
}

mkdirSync(outDir, { recursive: true });
const seen = new Set();
let written = 0;
for (const line of git("log", "--all", "--reverse", "--format=%H %cs", "--", FILE).trim().split("\n")) {
  const [commit, date] = line.split(" ");
  const text = git("show", `${commit}:${FILE}`);
  const fresh = read(text).filter((interaction) => {
    const key = createHash("sha256").update(JSON.stringify(interaction)).digest("hex");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (fresh.length === 0) continue;
  const fixture = {
    source: {
      repository: REPOSITORY,
      path: FILE,
      commit,
      date,
      reduced: [
        kind === "go"
          ? "event-stream bodies of the test servers only"
          : "nock answers with JSON literal bodies and stream test bodies only; long data URLs cut to a stub",
      ],
    },
    interactions: fresh,
  };
  writeFileSync(
    path.join(outDir, `${kind}-${FILE.replace(/\W+/g, "-")}-${commit.slice(0, 7)}.json`),
    `${JSON.stringify(fixture, null, 1)}\n`,
  );
  written += 1;
}
console.log(`${written} fixtures written to ${outDir}`);
