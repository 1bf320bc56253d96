import { describe, expect, it } from "vitest";
import {
  ACCESS_KEY_STORAGE_KEY,
  authorizationHeaders,
  forgetAccessKey,
  isAccessKeyChallenge,
  readAccessKey,
  saveAccessKey,
  type KeyStorage,
} from "@/lib/browser/access-key";
import { describeAnswer } from "@/lib/browser/run-report";
import { handleFromUrl, withHandle } from "@/lib/browser/prediction-url";

function memoryStorage(): KeyStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

const refusingStorage: KeyStorage = {
  getItem: () => {
    throw new DOMException("denied", "SecurityError");
  },
  setItem: () => {
    throw new DOMException("full", "QuotaExceededError");
  },
  removeItem: () => {
    throw new DOMException("denied", "SecurityError");
  },
};

const challenge = (keySent: boolean) => ({
  httpStatus: 401,
  body: { title: "Unauthorized", detail: keySent ? "wrong key" : "key needed", status: 401 },
  streamed: false,
  headers: new Headers({ "WWW-Authenticate": 'Bearer realm="replicate-route"' }),
});

describe("the access key in session storage", () => {
  it("is saved trimmed under replicate-route-key, read back, and forgotten", () => {
    const storage = memoryStorage();
    expect(readAccessKey(storage)).toBeNull();
    expect(saveAccessKey(storage, "  s3cret-key-0123456789 \n")).toBe(true);
    expect(storage.items.get(ACCESS_KEY_STORAGE_KEY)).toBe("s3cret-key-0123456789");
    expect(readAccessKey(storage)).toBe("s3cret-key-0123456789");
    forgetAccessKey(storage);
    expect(readAccessKey(storage)).toBeNull();
  });

  it("survives a browser that refuses storage", () => {
    expect(readAccessKey(refusingStorage)).toBeNull();
    expect(saveAccessKey(refusingStorage, "k")).toBe(false);
    expect(saveAccessKey(null, "k")).toBe(false);
    expect(() => forgetAccessKey(refusingStorage)).not.toThrow();
  });

  it("is sent as a bearer token, and nothing is sent without one", () => {
    expect(authorizationHeaders("abc")).toEqual({ Authorization: "Bearer abc" });
    expect(authorizationHeaders(null)).toEqual({});
  });
});

describe("a 401 that asks for the access key", () => {
  it("is the route's own (WWW-Authenticate: Bearer), not Replicate refusing the server's token", () => {
    expect(isAccessKeyChallenge(challenge(false))).toBe(true);
    const replicates = {
      httpStatus: 401,
      body: { title: "Unauthenticated", detail: "Invalid token", status: 401 },
      streamed: false,
      headers: new Headers(),
    };
    expect(isAccessKeyChallenge(replicates)).toBe(false);
    expect(describeAnswer(replicates)).toMatchObject({ kind: "problem", status: 401 });
  });

  it("asks for the key, or says the key sent was refused", () => {
    expect(describeAnswer(challenge(false))).toMatchObject({
      kind: "unauthorized",
      keyRefused: false,
      message: "This app's route needs an access key",
    });
    expect(describeAnswer(challenge(true), { keySent: true })).toMatchObject({
      kind: "unauthorized",
      keyRefused: true,
      message: "The access key was refused",
    });
  });
});

describe("the prediction handle in the page's URL", () => {
  it("is set and removed, keeping the rest of the URL", () => {
    const named = withHandle("http://localhost:3000/?tab=2#out", "yivqdm2p62uxtohjtl5kgogiym.Qm9vX2hhbmRsZV9tYWM");
    expect(named).toBe("http://localhost:3000/?tab=2&prediction=yivqdm2p62uxtohjtl5kgogiym.Qm9vX2hhbmRsZV9tYWM#out");
    expect(handleFromUrl(named)).toBe("yivqdm2p62uxtohjtl5kgogiym.Qm9vX2hhbmRsZV9tYWM");
    expect(withHandle(named, null)).toBe("http://localhost:3000/?tab=2#out");
  });

  it("is ignored when absent or not shaped like a handle", () => {
    expect(handleFromUrl("http://localhost:3000/")).toBeNull();
    expect(handleFromUrl("http://localhost:3000/?prediction=")).toBeNull();
    expect(handleFromUrl("http://localhost:3000/?prediction=..%2Fadmin")).toBeNull();
    expect(handleFromUrl("http://localhost:3000/?prediction=yivqdm2p62uxtohjtl5kgogiym")).toBeNull();
  });
});
