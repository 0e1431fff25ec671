/**
 * Cleanup is declared, not remembered: whatever must be undone (a test
 * instance, a publish lock) is registered as soon as it exists, and runs when
 * the image finishes, fails, or the process is interrupted.
 */
import type { Logger } from './logger.ts';

interface PendingCleanup {
  readonly description: string;
  readonly cleanup: () => Promise<void>;
}

export interface CleanupRegistry {
  /** Registers a cleanup; the returned function unregisters it once it is no longer needed. */
  defer(description: string, cleanup: () => Promise<void>): () => void;
  /** Runs every pending cleanup, newest first; failures are logged, never thrown. */
  runAll(logger: Logger): Promise<void>;
  readonly size: number;
}

export function createCleanupRegistry(): CleanupRegistry {
  const pending = new Set<PendingCleanup>();
  return {
    defer(description, cleanup) {
      const entry = { description, cleanup };
      pending.add(entry);
      return () => void pending.delete(entry);
    },
    async runAll(logger) {
      const entries = [...pending].reverse();
      pending.clear();
      for (const entry of entries) {
        try {
          logger.info(`cleanup: ${entry.description}`);
          await entry.cleanup();
        } catch (error) {
          logger.warn(`cleanup failed: ${entry.description}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    },
    get size() {
      return pending.size;
    },
  };
}
