/** An in-process Io for calling commands and the CLI in tests: output is collected, and asking to exit is a bug. */
import type { Io } from '../../src/commands/io.ts';

export function fakeIo(options: { cwd?: string; env?: Record<string, string | undefined> } = {}): { io: Io; written: { stdout: string; stderr: string } } {
  const written = { stdout: '', stderr: '' };
  const io: Io = {
    cwd: options.cwd ?? '/nonexistent-gild-project',
    env: options.env ?? {},
    stdout: (text) => void (written.stdout += text),
    stderr: (text) => void (written.stderr += text),
    isTTY: false,
    exit: (code) => {
      throw new Error(`a command asked to exit with ${code}`);
    },
  };
  return { io, written };
}
