// The benchmark's floor app: built with `next build bench/floor-app`, started with `next start bench/floor-app`.
export default { poweredByHeader: false };
