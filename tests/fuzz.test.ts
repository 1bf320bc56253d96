import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { DELETE, GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { PREDICTION_ID } from "@/lib/shared/prediction";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * Hostile input, property-based: thousands of request bodies that are each wrong in at least one
 * way, under arbitrary headers. Whatever arrives, the route never answers 5xx, never calls
 * Replicate, and always answers problem JSON that names what is wrong.
 */
const { sim } = useSimulatedReplicate();
const logs = useGuardEnv();
const APP_HOST = "app.test";
const MAX_BODY_BYTES = 32 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);

// ---- bodies: each one wrong, knowing which field is -------------------------------------------

interface HostileBody {
  bytes: Uint8Array<ArrayBuffer>;
  /** Fields an answer may name (any of them); "body" when the whole body is wrong. */
  wrong: string[];
  /** Over the byte limit: 413, named by its title, not a field. */
  tooLarge?: true;
}

const encoder = new TextEncoder();
const text = (value: string, wrong: string[]): HostileBody => {
  const bytes = encoder.encode(value);
  return { bytes, wrong, ...(bytes.length > MAX_BODY_BYTES ? { tooLarge: true as const } : {}) };
};

const printable = (maxLength: number) => fc.string({ unit: "grapheme", maxLength });
const anyUnicode = (maxLength: number) => fc.string({ unit: "binary", maxLength });
const nonString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(printable(8), fc.jsonValue(), { maxKeys: 3 }),
);
const deepNesting = fc.integer({ min: 1, max: 20_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth));
const hugeString = fc.integer({ min: 1_000, max: 48_000 }).map((length) => JSON.stringify("x".repeat(length)));
const prototypeKeys = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "__defineGetter__",
);
const unknownKey = fc.oneof(
  prototypeKeys,
  printable(20).filter((key) => !["prompt", "seed", "style", "image"].includes(key)),
);

const brokenBase64 = fc.oneof(
  fc.constant(""),
  fc.constant("===="),
  fc.constant("iVBORw0KGgo=AAAA"),
  fc.constant("iVBO Rw0K"),
  fc.constant("iVBORw0KG"),
  printable(40).map((s) => `${s}!`),
  fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => Buffer.from([0x00, ...bytes]).toString("base64")), // base64, not an image
  fc.constantFrom(
    "data:text/plain;base64,aGk=",
    "data:image/png,rawbytes",
    "data:image/png;base64,@@@@",
    "data:;base64,",
    "data:image/svg+xml;base64",
  ),
);

/** One wrong field of a body, as JSON text, and the field an answer should name. */
const corruption: fc.Arbitrary<{ key: string; json: string; names: string }> = fc.oneof(
  fc
    .oneof(
      nonString.map((v) => JSON.stringify(v)),
      fc.constantFrom('""', '"   "', '"\\n\\t"'),
      deepNesting,
    )
    .map((json) => ({ key: "prompt", json, names: "prompt" })),
  fc
    .oneof(
      fc.integer({ max: -1 }).map(String),
      fc
        .double({ noNaN: true, noDefaultInfinity: true })
        .filter((n) => !Number.isInteger(n))
        .map(String),
      fc.constantFrom("1e400", "-1e400", "9007199254740993", '"7"', "true", "null", "[1]", "{}"),
      deepNesting,
    )
    .map((json) => ({ key: "seed", json, names: "seed" })),
  fc
    .oneof(
      nonString.filter((v) => v !== null).map((v) => JSON.stringify(v)),
      deepNesting,
    )
    .map((json) => ({ key: "style", json, names: "style" })),
  fc
    .oneof(
      brokenBase64.map((v) => JSON.stringify(v)),
      nonString.map((v) => JSON.stringify(v)),
    )
    .map((json) => ({ key: "image", json, names: "image" })),
  fc
    .tuple(
      unknownKey,
      fc.oneof(
        fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"),
        deepNesting,
        hugeString,
      ),
    )
    .map(([key, json]) => ({ key, json, names: key })),
);

/** A valid body with one or more fields made wrong; written by hand so `__proto__` stays a key. */
const corruptedObject = fc
  .tuple(
    fc.record({
      prompt: printable(60).filter((p) => p.trim() !== ""),
      seed: fc.option(fc.nat(), { nil: undefined }),
      style: fc.option(printable(20), { nil: undefined }),
    }),
    fc.array(corruption, { minLength: 1, maxLength: 3 }),
  )
  .map(([valid, corruptions]) => {
    const fields = new Map<string, string>(
      Object.entries(valid)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, JSON.stringify(v)]),
    );
    for (const { key, json } of corruptions) fields.set(key, json);
    const json = `{${[...fields].map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
    return text(
      json,
      corruptions.map((c) => c.names),
    );
  });

const notAnObject = fc
  .oneof(
    fc
      .oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 4 }))
      .map((v) => JSON.stringify(v)),
    deepNesting,
  )
  .map((json) => text(json, ["body"]));

const notJson = fc
  .oneof(
    fc.constantFrom(
      "",
      "   ",
      "\n",
      "{",
      "{prompt:",
      '{"prompt": "unterminated',
      "prompt=a+cat",
      "<html>",
      "null null",
      "{'prompt': 'x'}",
      "\u0000",
    ),
    anyUnicode(200),
    fc.jsonValue().map((v) => (JSON.stringify(v) ?? "1").slice(0, -1) + "\u0001"),
  )
  .filter((body) => {
    try {
      JSON.parse(body);
      return false;
    } catch {
      return true;
    }
  })
  .map((body) => text(body, ["body"]));

/** Bytes that are not UTF-8, inside an otherwise valid body. */
const brokenUtf8 = fc
  .tuple(
    fc.constantFrom(
      [0xff],
      [0xc3, 0x28],
      [0x80],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
      [0xfe, 0xfe, 0xff, 0xff],
    ),
    printable(20),
  )
  .map(([bad, prompt]) => ({
    bytes: new Uint8Array([...encoder.encode(`{"prompt":"${prompt.replace(/["\\]/g, "")}`), ...bad, ...encoder.encode('"}')]),
    wrong: ["body"],
  }));

const hostileBody: fc.Arbitrary<HostileBody> = fc.oneof(
  { arbitrary: corruptedObject, weight: 6 },
  { arbitrary: notAnObject, weight: 1 },
  { arbitrary: notJson, weight: 2 },
  { arbitrary: brokenUtf8, weight: 1 },
);

// ---- multipart bodies: a valid prompt, then one or more wrong parts ------------------------------

const BOUNDARY = "fuzzBoundary0123";
type Part = { name: string; value: string | Uint8Array; type?: string; names: string };
const textPart = (name: string, value: string, names = name): Part => ({ name, value, names });
const wrongPart: fc.Arbitrary<Part> = fc.oneof(
  fc.constantFrom("", "   ").map((v) => textPart("prompt", v)),
  fc
    .oneof(
      fc.integer({ max: -1 }).map(String),
      fc.constantFrom("1.5", "1e400", "seven", "0x10", "", " 7", "true", "[1]"),
      printable(10).filter((v) => !/^\d+$/.test(v)),
    )
    .map((v) => textPart("seed", v)),
  fc
    .oneof(
      brokenBase64.filter((v) => v !== ""),
      fc.constant(""),
    )
    .map((v) => textPart("image", v)),
  // A file part declared image/* is taken at its word, as a JSON data URL is; these are sniffed or refused by type.
  fc
    .tuple(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      fc.constantFrom("application/octet-stream", "text/plain", "audio/wav"),
    )
    .map(([bytes, type]): Part => ({ name: "image", value: Uint8Array.from([0, ...bytes]), type, names: "image" })),
  fc
    .tuple(
      unknownKey.filter((key) => key !== "" && !/["\r\n]/.test(key)),
      printable(20),
    )
    .map(([key, value]) => textPart(key, value)),
  fc.constant(textPart("prompt", "twice", "body")),
);

function multipartBytes(parts: Part[]): Uint8Array<ArrayBuffer> {
  const pieces: Uint8Array[] = [];
  for (const part of parts) {
    const file = part.type === undefined ? "" : `; filename="f"\r\nContent-Type: ${part.type}`;
    pieces.push(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"${file}\r\n\r\n`));
    pieces.push(typeof part.value === "string" ? encoder.encode(part.value) : part.value, encoder.encode("\r\n"));
  }
  pieces.push(encoder.encode(`--${BOUNDARY}--\r\n`));
  return new Uint8Array(Buffer.concat(pieces));
}

const hostileMultipart: fc.Arbitrary<HostileBody> = fc
  .tuple(
    printable(40).filter((p) => p.trim() !== ""),
    fc.array(wrongPart, { minLength: 1, maxLength: 3 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([prompt, wrong, cut]) => {
    // A repeated name is itself wrong: the body then names "body".
    const parts = [textPart("prompt", prompt), ...wrong];
    const names = parts.map((part) => part.name);
    const repeated = names.some((name, index) => names.indexOf(name) !== index);
    const bytes = multipartBytes(parts);
    const truncated = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
    return {
      bytes: new Uint8Array(truncated),
      wrong: [...wrong.map((part) => part.names), ...(repeated || cut !== undefined ? ["body"] : [])],
    };
  });

// ---- headers -----------------------------------------------------------------------------------

const headerValue = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 120,
});
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

type HeaderSet = Partial<Record<string, string>>;

const contentHeaders: fc.Arbitrary<HeaderSet> = fc.record({
  "content-type": maybe(
    fc.oneof(
      fc.constantFrom(
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
        "image/png",
      ),
      headerValue,
    ),
  ),
  accept: maybe(
    fc.oneof(fc.constantFrom("*/*", "text/event-stream", "application/json, text/event-stream", "text/html"), headerValue),
  ),
  prefer: maybe(fc.oneof(fc.constantFrom("respond-async", "wait=5", "respond-async, wait=1000", "wait=-1"), headerValue)),
  "x-forwarded-for": maybe(fc.oneof(fc.constantFrom("1.2.3.4", "::1, 10.0.0.1", "1.2.3.4,".repeat(2000)), headerValue)),
  "x-forwarded-host": maybe(headerValue),
  "content-length": rarely(fc.constantFrom("abc", "-1", "0", "1e3", "99999999999999", "3.5")),
  "x-random": maybe(headerValue),
});

/** Mostly the app's own page or curl (so the body is what gets judged), sometimes anything at all. */
const accessHeaders: fc.Arbitrary<{ ownPage: boolean; headers: HeaderSet }> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        "sec-fetch-site": maybe(fc.constantFrom("same-origin", "none")),
        origin: maybe(fc.constant(`http://${APP_HOST}`)),
      })
      .map((headers) => ({ ownPage: true, headers })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        "sec-fetch-site": maybe(fc.oneof(fc.constantFrom("same-origin", "none", "same-site", "cross-site"), headerValue)),
        origin: maybe(
          fc.oneof(
            fc.constantFrom(`http://${APP_HOST}`, "https://evil.example", "null", `http://${APP_HOST}.evil.example`),
            headerValue,
          ),
        ),
        authorization: maybe(
          fc.oneof(
            fc.constant(`Bearer ${ROUTE_KEY.slice(1)}`),
            headerValue.map((v) => `Bearer ${v}`),
            headerValue,
          ),
        ),
      })
      .map((headers) => ({ ownPage: false, headers })),
  },
);

function post(body: HostileBody, headers: HeaderSet): Promise<Response> {
  const set = Object.fromEntries(
    Object.entries({ host: APP_HOST, ...headers }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return POST(new Request(`http://${APP_HOST}/api/ai/replicate`, { method: "POST", headers: set, body: body.bytes }));
}

// ---- what every answer must be -----------------------------------------------------------------

const REFUSALS = new Set([401, 403, 413]);

async function expectNamedProblem(response: Response, body?: HostileBody): Promise<void> {
  expect(response.status).toBeLessThan(500);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const raw = await response.text();
  expect(raw).not.toContain(TOKEN);
  const problem = JSON.parse(raw);
  expect(problem).toMatchObject({ title: expect.any(String), detail: expect.any(String), status: response.status });
  expect(problem.title.length).toBeGreaterThan(0);
  expect(problem.detail.length).toBeGreaterThan(0);
  if (REFUSALS.has(response.status)) return;
  expect(response.status).toBe(400);
  expect(body?.tooLarge).toBeUndefined();
  const named: string[] = problem.invalid_fields.map((field: { field: string; description: string }) => {
    expect(typeof field.description).toBe("string");
    return field.field;
  });
  if (body) expect(named.some((field) => body.wrong.includes(field))).toBe(true);
}

describe("hostile input", () => {
  afterAll(() => {
    expect(sim.requests).toHaveLength(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // 3,000 CPU-bound cases: seconds on an idle machine, more on a busy one (no clock is asserted).
  it("answers any wrong body under any headers with a 4xx problem naming what is wrong, never calling Replicate", {
    timeout: 120_000,
  }, async () => {
    setEnv({ REPLICATE_MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(hostileBody, contentHeaders, accessHeaders, fc.boolean(), async (body, content, access, keyed) => {
        setGuardEnv({ ROUTE_API_KEY: keyed ? ROUTE_KEY : "" });
        const key = keyed && access.ownPage ? { authorization: `Bearer ${ROUTE_KEY}` } : {};
        const response = await post(body, { ...content, ...access.headers, ...key });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 413) expect(body.tooLarge ?? content["content-length"]).toBeTruthy();
        if (access.ownPage) expect([400, 413]).toContain(response.status);
        // JSON labelled multipart is read as multipart: then the body itself is what is wrong.
        const multipart = /^multipart\/form-data/i.test(content["content-type"] ?? "");
        await expectNamedProblem(response, multipart ? { ...body, wrong: [...body.wrong, "body"] } : body);
      }),
      { numRuns: 3000, seed: SEED },
    );
    expect(sim.requests).toHaveLength(0);
    // The bodies were judged, not just refused at the door.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(1500);
    for (const line of logs.lines) expect(line).not.toContain(TOKEN);
  });

  it("answers any wrong multipart body with a 400 problem naming what is wrong, never calling Replicate", {
    timeout: 120_000,
  }, async () => {
    setEnv({ REPLICATE_MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
    setGuardEnv({ ROUTE_API_KEY: "" });
    await fc.assert(
      fc.asyncProperty(hostileMultipart, async (body) => {
        const response = await POST(
          new Request(`http://${APP_HOST}/api/ai/replicate`, {
            method: "POST",
            headers: {
              host: APP_HOST,
              "sec-fetch-site": "same-origin",
              "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
            },
            body: body.bytes,
          }),
        );
        expect(response.status).toBe(400);
        await expectNamedProblem(response, body);
      }),
      { numRuns: 500, seed: SEED },
    );
    expect(sim.requests).toHaveLength(0);
  });

  it("refuses any hostile prediction id on GET and DELETE as a 400 naming the id", { timeout: 120_000 }, async () => {
    const hostileId = fc
      .oneof(
        anyUnicode(80),
        fc.constantFrom(
          "..",
          "../../v1/account",
          "%2e%2e%2f",
          "ABCDEFGHIJ",
          "abc",
          "a".repeat(65),
          "abcdefgh?x=1",
          "abcdefgh/cancel",
        ),
      )
      .filter((id) => !PREDICTION_ID.test(id));
    await fc.assert(
      fc.asyncProperty(hostileId, fc.constantFrom(GET, DELETE), async (id, handler) => {
        const request = new Request(`http://${APP_HOST}/api/ai/replicate/x`, { method: handler === GET ? "GET" : "DELETE" });
        const response = await handler(request, { params: Promise.resolve({ id }) });
        expect(response.status).toBe(400);
        await expectNamedProblem(response, { bytes: new Uint8Array(), wrong: ["id"] });
      }),
      { numRuns: 1000, seed: SEED },
    );
    expect(sim.requests).toHaveLength(0);
  });
});
