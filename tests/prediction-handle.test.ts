import { describe, expect, it } from "vitest";
import { handleKey, parseHandle, toHandle } from "@/lib/server/replicate/prediction-handle";
import { Problem } from "@/lib/server/problem";

const key = handleKey("r8_test_token");
const ID = "ufawqhfynnddngldkgtslldrkq";
const alice = { identity: "user:alice" };
const bob = { identity: "user:bob" };

function statusOf(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    if (error instanceof Problem) return error.status;
    throw error;
  }
  return 200;
}

describe("prediction handles", () => {
  it("name the prediction in one URL path segment, and give its id back to the caller it was made for", () => {
    const handle = toHandle(key, ID, alice);
    expect(handle).toMatch(/^[a-z0-9]+\.[A-Za-z0-9_-]+$/);
    expect(encodeURIComponent(handle)).toBe(handle);
    expect(parseHandle(key, handle, alice)).toBe(ID);
  });

  it("answer 404 to another caller, to a forged or altered mac, to a bare id and to another secret's handle", () => {
    const handle = toHandle(key, ID, alice);
    expect(statusOf(() => parseHandle(key, handle, bob))).toBe(404);
    expect(statusOf(() => parseHandle(key, handle, undefined))).toBe(404);
    const [id, mac] = handle.split(".");
    const flipped = `${id}.${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`;
    expect(statusOf(() => parseHandle(key, flipped, alice))).toBe(404);
    expect(statusOf(() => parseHandle(key, `${"a".repeat(26)}.${mac}`, alice))).toBe(404);
    expect(statusOf(() => parseHandle(key, ID, alice))).toBe(404);
    expect(statusOf(() => parseHandle(handleKey("another-secret"), handle, alice))).toBe(404);
  });

  it("are the same on every instance and after a restart: derived from the secret alone", () => {
    expect(toHandle(handleKey("r8_test_token"), ID, alice)).toBe(toHandle(key, ID, alice));
    expect(toHandle(key, ID, { identity: null })).toBe(toHandle(key, ID, undefined));
  });

  it("answer 400 to what is not a handle's shape at all, before anything is looked up", () => {
    for (const junk of ["", "../secret", "ABC", "a.b.c", `${ID}/x`, "x".repeat(200)]) {
      expect(statusOf(() => parseHandle(key, junk, alice))).toBe(400);
    }
  });
});
