/**
 * What a command may touch of the process it runs in. `src/cli.ts` hands in
 * the real one; tests hand in their own and read what was written.
 */
import { createLogger, type Logger } from '../logger.ts';

export interface Io {
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTTY: boolean;
  /**
   * Ends the process at once. Only a second Ctrl-C uses it; it comes from
   * `src/cli.ts`, the one module that exits.
   */
  readonly exit: (code: number) => void;
}

/** Log lines go to stderr, so that stdout carries only a command's answer. */
export function createIoLogger(io: Io): Logger {
  return createLogger((level, line) => io.stderr(`${level === 'warn' ? 'warning: ' : ''}${line}\n`));
}
