/**
 * The unit suite's log destination: every line to `console` as it is written (info to `log`, the
 * others to their own method), so a test reads a request's line right after its answer with a
 * console spy (guard-env's `useGuardEnv`, or its own). The batched writes to stdout and stderr the
 * app uses are tested in tests/log-writes.test.ts.
 */
import { setLogDestination } from "@/lib/server/log";

setLogDestination((level, line) => console[level === "info" ? "log" : level](line));
