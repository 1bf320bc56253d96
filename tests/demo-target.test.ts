// npm run demo runs the model schema.ts was fitted to: the simulator serves the catalogue's; for
// another model it says how to run against Replicate, and it never lets .env.local's model in.
import { describe, expect, it } from "vitest";
import { demoTarget } from "@/dev/demo-target";
import { IMAGE_MODEL, LANGUAGE_MODEL } from "@/dev/simulator/models";

const version = (model: typeof IMAGE_MODEL) => model.latest_version.id;

describe("the demo's model", () => {
  it("is the version schema.ts was fitted to, the other two settings empty (so .env.local adds none)", () => {
    const target = demoTarget({ model: "simulated/language-model", version: version(LANGUAGE_MODEL) });
    expect(target).toEqual({
      env: {
        REPLICATE_MODEL: "",
        REPLICATE_MODEL_VERSION: `simulated/language-model:${version(LANGUAGE_MODEL)}`,
        REPLICATE_DEPLOYMENT: "",
      },
      label: `simulated/language-model:${version(LANGUAGE_MODEL)}`,
    });
  });

  it("is the deployment schema.ts was fitted through, when the simulator serves it", () => {
    const target = demoTarget({
      model: "simulated/image-model",
      version: version(IMAGE_MODEL),
      deployment: "simulated/image-deployment",
    });
    expect(target).toMatchObject({
      env: { REPLICATE_MODEL: "", REPLICATE_MODEL_VERSION: "", REPLICATE_DEPLOYMENT: "simulated/image-deployment" },
    });
  });

  it("is the seed's model when schema.ts records none (written by hand)", () => {
    expect(demoTarget(null)).toMatchObject({ env: { REPLICATE_MODEL: "simulated/image-model", REPLICATE_MODEL_VERSION: "" } });
  });

  it("is not served for a model the simulator does not know: the demo says how to run it against Replicate", () => {
    const target = demoTarget({ model: "acme/upscaler", version: "a".repeat(64) });
    expect(target).not.toHaveProperty("env");
    const text = "notServed" in target ? target.notServed : "";
    expect(text).toContain("The simulator does not serve acme/upscaler");
    expect(text).toContain(`REPLICATE_MODEL_VERSION=acme/upscaler:${"a".repeat(64)} in .env.local`);
    expect(text).toContain("npm run doctor");
    expect(text).toContain("npm run dev");
  });

  it("is not served for a version of a catalogue model the simulator lacks, and says to fit its latest", () => {
    const target = demoTarget({ model: "simulated/image-model", version: "b".repeat(64) });
    expect("notServed" in target && target.notServed).toContain("npm run model -- simulated/image-model");
  });
});
