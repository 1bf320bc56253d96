import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The benchmark and the browser test start `next start` on their own ports; nothing here
  // depends on the host. No `proxy.ts`: it would cut request bodies at 10 MB without a word.
  poweredByHeader: false,
  // Loaded from node_modules at run time, not bundled: the SDK picks its exporters dynamically.
  serverExternalPackages: ["@opentelemetry/sdk-node"],
};

export default nextConfig;
