// The floor app measures a bare route: no instrumentation (without this file Next picks up the project root's).
export function register(): void {}
