import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { renderSeedPng, seedPngDataUrl } from "@/dev/simulator/png-image";
import { BASE, jsonPost, setEnv, until, useSimulatedReplicate } from "@/tests/support/route-env";

/** Issue 14: the route takes `multipart/form-data` (the file as a file part), checked like JSON. */
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 20 });
const ROUTE = "http://localhost/api/ai/replicate";
const PNG = Buffer.from(renderSeedPng(3));

function form(fields: Record<string, string | Blob>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

function post(body: BodyInit, headers: Record<string, string> = {}) {
  return POST(new Request(ROUTE, { method: "POST", body, headers, duplex: "half" } as RequestInit));
}

function onlyInput() {
  const predictions = [...sim.predictions.values()];
  expect(predictions).toHaveLength(1);
  return predictions[0].plan.input;
}

async function problem(response: Response, status = 400) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("json");
  const body = await response.json();
  expect(body).toMatchObject({ status });
  expect(typeof body.title).toBe("string");
  return body as { title: string; detail: string; invalid_fields?: { field: string; description: string }[] };
}

/** A multipart body as a stream of chunks, with no Content-Length; counts the chunks pulled. */
function chunkedBody(chunks: Uint8Array[]) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks.length) return controller.close();
      controller.enqueue(chunks[pulled++]);
    },
  });
  return { stream, pulled: () => pulled };
}

describe("multipart/form-data bodies", () => {
  it("are accepted: text parts typed by the schema (seed becomes a number), the file part becomes the image", async () => {
    const response = await post(
      form({ prompt: "a cat", seed: "42", style: "anime", image: new File([PNG], "cat.png", { type: "image/png" }) }),
    );
    expect(response.status).toBe(200);
    expect(onlyInput()).toEqual({
      prompt: "a cat",
      seed: 42,
      style: "anime",
      image: `data:image/png;base64,${PNG.toString("base64")}`,
    });
  });

  it("sniff a file part sent as application/octet-stream, like raw base64 in JSON", async () => {
    expect((await post(form({ prompt: "x", image: new Blob([PNG]) }))).status).toBe(200);
    expect(onlyInput().image).toBe(`data:image/png;base64,${PNG.toString("base64")}`);
  });

  it("send a file above the inline limit through the Files API", async () => {
    const large = Buffer.from(seedPngDataUrl(5, 400 * 1024).split(",")[1], "base64");
    expect((await post(form({ prompt: "x", image: new File([large], "big.png", { type: "image/png" }) }))).status).toBe(200);
    const [file] = sim.files.files.values();
    expect(Buffer.from(file.content).equals(large)).toBe(true);
    expect(onlyInput().image).toBe(`${BASE}/files/${file.id}`);
    await until(() => file.deleted);
  });

  it.each([
    [{ prompt: "x", seed: "forty-two" }, "seed", "must be a number"],
    [{ prompt: "x", seed: "1.5" }, "seed", "must be a whole number"],
    [{ prompt: "x", seed: "-1" }, "seed", "must be 0 or more"],
    [{ prompt: " " }, "prompt", "must not be empty"],
    [{ prompt: "x", promt: "typo" }, "promt", ""],
    [{ prompt: "x", image: new File([Buffer.from("not an image")], "a.txt", { type: "text/plain" }) }, "image", "not an image"],
  ])("are validated by the same schema as JSON: %j", async (fields, field, words) => {
    const body = await problem(await post(form(fields as Record<string, string | Blob>)));
    const found = body.invalid_fields?.find((f) => f.field === field || f.description.includes(field));
    expect(found, JSON.stringify(body)).toBeDefined();
    expect(found!.description).toContain(words);
    expect(sim.count("create")).toBe(0);
  });

  it("do not make JSON bodies lax: a seed sent as text in JSON is still refused", async () => {
    const body = await problem(await POST(jsonPost(ROUTE, { prompt: "x", seed: "42" })));
    expect(body.invalid_fields?.map((f) => f.field)).toEqual(["seed"]);
  });

  it("are cut at the body limit as the bytes arrive, without Content-Length", async () => {
    setEnv({ REPLICATE_MAX_BODY_BYTES: "100000" });
    const boundary = "XyZ";
    const head = new TextEncoder().encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    const chunks = [head, ...Array.from({ length: 50 }, () => new Uint8Array(10_000))];
    const body = chunkedBody(chunks);
    const response = await post(body.stream, { "content-type": `multipart/form-data; boundary=${boundary}` });
    const answer = await problem(response, 413);
    expect(answer.detail).toContain("REPLICATE_MAX_BODY_BYTES");
    expect(body.pulled()).toBeLessThan(20);
  });

  it("are refused at once when Content-Length says they are too large", async () => {
    setEnv({ REPLICATE_MAX_BODY_BYTES: "1000" });
    const data = form({ prompt: "x", image: new File([new Uint8Array(5000)], "a.png", { type: "image/png" }) });
    const encoded = new Response(data);
    const bytes = new Uint8Array(await encoded.arrayBuffer());
    const response = await post(bytes, {
      "content-type": encoded.headers.get("content-type")!,
      "content-length": String(bytes.length),
    });
    await problem(response, 413);
  });

  describe("junk is a 400 problem naming what is wrong", () => {
    const type = "multipart/form-data; boundary=B";
    it.each([
      ["no boundary", "--B\r\n", "multipart/form-data", "Boundary not found"],
      ["a truncated body", '--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhal', type, "Unexpected end of form"],
      [
        "a field sent twice",
        '--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na\r\n--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nb\r\n--B--\r\n',
        type,
        "`prompt` was sent more than once",
      ],
      ["no fields at all", "--B--\r\n", type, "no fields"],
      [
        "a part named only by name*=",
        "--B\r\nContent-Disposition: form-data; name*=utf-8''prompt\r\n\r\nhi\r\n--B--\r\n",
        type,
        "`name*=`",
      ],
    ])("%s", async (_, text, contentType, words) => {
      expect(words).not.toContain("undefined");
      const body = await problem(await post(text, { "content-type": contentType }));
      expect(body.detail).toContain(words);
      expect(sim.count("create")).toBe(0);
    });
  });

  it("refuse a text part whose bytes are not UTF-8, as the same bytes in JSON are", async () => {
    const invalid = Buffer.from([0x68, 0xff, 0xfe, 0x69]);
    const head = Buffer.from('--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n');
    const body = Buffer.concat([head, invalid, Buffer.from("\r\n--B--\r\n")]);
    const multipart = await problem(await post(body, { "content-type": "multipart/form-data; boundary=B" }));
    expect(multipart.detail).toContain("`prompt` is not valid UTF-8");
    const json = await problem(
      await post(Buffer.concat([Buffer.from('{"prompt":"'), invalid, Buffer.from('"}')]), { "content-type": "application/json" }),
    );
    expect(json.detail).toContain("not valid UTF-8");
    expect(sim.count("create")).toBe(0);
  });
});
