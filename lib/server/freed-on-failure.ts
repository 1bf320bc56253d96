import "server-only";
// What the Idempotency-Key's claim and the spend guard's reservation share: both are held from before
// the create, and both are freed when the work fails without a prediction having been made.
import { Problem } from "./problem";
import { SharedStateUnavailable } from "./shared-state/redis-connection";

/** Whether an error proves that no prediction was created (refused, throttled, or never sent). */
export function nothingCreated(error: unknown): boolean {
  if (error instanceof SharedStateUnavailable) return true;
  return error instanceof Problem && (error.nothingCreated || error.status < 500);
}

/**
 * `beforeCreate`: the work runs before any create, so any failure frees; `track`: the create and what
 * follows, so a failure frees only while no prediction was seen and the error proves none was made.
 */
export function freedOnFailure(free: () => Promise<unknown>, predictionSeen: () => boolean) {
  return {
    async beforeCreate<T>(work: Promise<T>): Promise<T> {
      try {
        return await work;
      } catch (error) {
        await free();
        throw error;
      }
    },
    async track<T>(work: Promise<T>): Promise<T> {
      try {
        return await work;
      } catch (error) {
        if (!predictionSeen() && nothingCreated(error)) await free();
        throw error;
      }
    },
  };
}
