import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The benchmark and the browser test start `next start` on their own ports; nothing here
  // depends on the host. No `proxy.ts`: it would cut request bodies at 10 MB without a word.
  poweredByHeader: false,
};

export default nextConfig;
