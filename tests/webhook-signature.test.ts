import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyWebhookSignature, type WebhookSignatureArgs } from "@/lib/server/replicate/webhook-signature";

// Signatures are computed here with node:crypto, independently of the module under test.
const KEY = randomBytes(24);
const SECRET = `whsec_${KEY.toString("base64")}`;
const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z
const ID = "msg_2m9QmSRBvg1rcqTQzRsZnOIIJ0X";
const BODY = JSON.stringify({
  id: "ufawqhfynnddngldkgtslldrkq",
  status: "succeeded",
  output: ["https://replicate.delivery/out.png"],
});

function sign({ id = ID, timestamp = String(NOW), body = BODY, key = KEY } = {}): string {
  return createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
}

function verify(overrides: Partial<WebhookSignatureArgs> = {}) {
  return verifyWebhookSignature({
    id: ID,
    timestamp: String(NOW),
    signature: `v1,${sign()}`,
    rawBody: BODY,
    secret: SECRET,
    nowSeconds: NOW,
    ...overrides,
  });
}

function expectRejected(overrides: Partial<WebhookSignatureArgs>, reason: RegExp): void {
  const result = verify(overrides);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.reason).toMatch(reason);
}

describe("accepts a correctly signed webhook", () => {
  it("accepts the signature Replicate computes", () => {
    expect(verify()).toEqual({ ok: true });
  });

  it("accepts a secret given without its whsec_ prefix", () => {
    expect(verify({ secret: KEY.toString("base64") })).toEqual({ ok: true });
  });

  it("signs the raw text byte for byte, including non-ASCII characters", () => {
    const rawBody = '{"logs":"température 20°C 🔥\\n","status":"processing"}';
    expect(verify({ rawBody, signature: `v1,${sign({ body: rawBody })}` })).toEqual({ ok: true });
  });

  it("uses the current clock when no time is injected", () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    expect(verify({ timestamp, nowSeconds: undefined, signature: `v1,${sign({ timestamp })}` })).toEqual({ ok: true });
  });
});

describe("rejects a webhook whose signature does not match", () => {
  it("rejects a tampered body", () => {
    expectRejected({ rawBody: BODY.replace("succeeded", "failed") }, /does not match/);
  });

  it("rejects a body re-serialised with different whitespace", () => {
    expectRejected({ rawBody: JSON.stringify(JSON.parse(BODY), null, 2) }, /does not match/);
  });

  it("rejects a signature made with another secret", () => {
    expectRejected({ signature: `v1,${sign({ key: randomBytes(24) })}` }, /does not match/);
  });

  it("rejects a signature whose key is the secret's text rather than its decoded bytes", () => {
    expectRejected({ signature: `v1,${sign({ key: Buffer.from(SECRET) })}` }, /does not match/);
  });

  it("rejects a signature replayed with another webhook id", () => {
    expectRejected({ id: "msg_other" }, /does not match/);
  });

  it("rejects a signature replayed with another timestamp", () => {
    expectRejected({ timestamp: String(NOW + 1) }, /does not match/);
  });

  it("rejects a signature of the wrong length (a prefix of the real one)", () => {
    expectRejected({ signature: `v1,${sign().slice(0, 20)}` }, /does not match/);
  });

  it("rejects an empty or non-base64 v1 entry as no signature at all", () => {
    expectRejected({ signature: "v1," }, /no v1 signature/);
    expectRejected({ signature: "v1,***" }, /no v1 signature/);
  });
});

describe("reads every entry of the signature header", () => {
  it("accepts when one valid v1 entry sits among invalid ones", () => {
    const forged = `v1,${sign({ key: randomBytes(24) })}`;
    expect(verify({ signature: `${forged} v1,${sign()} v1,AAAA` })).toEqual({ ok: true });
    expect(verify({ signature: `v1,${sign()} ${forged}` })).toEqual({ ok: true });
  });

  it("rejects when every v1 entry is invalid", () => {
    const forged = (n: number) => `v1,${sign({ key: Buffer.alloc(24, n) })}`;
    expectRejected({ signature: `${forged(1)} ${forged(2)} ${forged(3)}` }, /does not match/);
  });

  it("ignores entries of other versions, even when they carry the right digest", () => {
    expectRejected({ signature: `v1a,${sign()} v2,${sign()}` }, /no v1 signature/);
    expectRejected({ signature: `v2,${sign()} v1,${sign({ key: randomBytes(24) })}` }, /does not match/);
    expect(verify({ signature: `v1a,AAAA v1,${sign()}` })).toEqual({ ok: true });
  });

  it("rejects a header with no version prefix at all", () => {
    expectRejected({ signature: sign() }, /no v1 signature/);
  });

  it("tolerates repeated spaces between entries", () => {
    expect(verify({ signature: `v2,xyz   v1,${sign()}` })).toEqual({ ok: true });
  });
});

describe("rejects timestamps outside the tolerance", () => {
  it("accepts a timestamp exactly at the 5-minute default tolerance, either way", () => {
    for (const offset of [-300, 300]) {
      const timestamp = String(NOW + offset);
      expect(verify({ timestamp, signature: `v1,${sign({ timestamp })}` })).toEqual({ ok: true });
    }
  });

  it("rejects a stale timestamp, even correctly signed", () => {
    const timestamp = String(NOW - 301);
    expectRejected({ timestamp, signature: `v1,${sign({ timestamp })}` }, /too old/);
  });

  it("rejects a timestamp in the future, even correctly signed", () => {
    const timestamp = String(NOW + 301);
    expectRejected({ timestamp, signature: `v1,${sign({ timestamp })}` }, /in the future/);
  });

  it("honours a custom tolerance", () => {
    const timestamp = String(NOW - 60);
    const signature = `v1,${sign({ timestamp })}`;
    expect(verify({ timestamp, signature, toleranceSeconds: 60 })).toEqual({ ok: true });
    expectRejected({ timestamp, signature, toleranceSeconds: 59 }, /too old/);
  });

  it.each([
    ["milliseconds", String(NOW * 1000)],
    ["an ISO date", "2026-01-01T00:00:00Z"],
    ["a decimal", `${NOW}.5`],
    ["a negative number", `-${NOW}`],
    ["surrounding spaces", ` ${NOW} `],
    ["hexadecimal", `0x${NOW.toString(16)}`],
  ])("rejects a timestamp in %s", (name, timestamp) => {
    const reason = name === "milliseconds" ? /in the future/ : /not a Unix time in seconds/;
    expectRejected({ timestamp, signature: `v1,${sign({ timestamp })}` }, reason);
  });
});

describe("rejects missing headers", () => {
  it.each([
    ["webhook-id", { id: null }],
    ["webhook-timestamp", { timestamp: null }],
    ["webhook-signature", { signature: null }],
    ["webhook-id", { id: "" }],
    ["webhook-signature", { signature: "" }],
  ] as const)("rejects a request without %s", (header, overrides) => {
    expectRejected(overrides, new RegExp(`${header} header is missing`));
  });
});

describe("gives short sentences as reasons", () => {
  it("says why in words a log reader understands", () => {
    expect(verify({ signature: `v1,${sign({ key: randomBytes(24) })}` })).toEqual({
      ok: false,
      reason: "The webhook signature does not match.",
    });
  });

  it("reports an empty secret instead of verifying with an empty key", () => {
    const emptyKeySignature = `v1,${sign({ key: Buffer.alloc(0) })}`;
    expectRejected({ secret: "whsec_", signature: emptyKeySignature }, /secret is empty/);
  });
});
