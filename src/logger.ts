/**
 * A tiny logger: the CLI decides where lines go (stderr, a listr2 task's
 * output, a file). Anything that looks like a secret is masked on the way out.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

const secretPatterns: readonly RegExp[] = [/(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g, /(aws_secret_access_key|secret_?access_?key|password|token)(["']?\s*[:=]\s*["']?)[^\s"',]+/gi];

export function maskSecrets(text: string): string {
  return secretPatterns.reduce(
    (masked, pattern) => masked.replace(pattern, (match, ...groups) => (groups.length > 3 && typeof groups[1] === 'string' ? `${groups[0]}${groups[1]}****` : '****')),
    text,
  );
}

export function createLogger(write: (level: 'info' | 'warn' | 'debug', line: string) => void): Logger {
  const emit = (level: 'info' | 'warn' | 'debug') => (message: string) => write(level, maskSecrets(message));
  return {
    info: emit('info'),
    warn: emit('warn'),
    debug: emit('debug'),
  };
}

export const silentLogger: Logger = createLogger(() => {});

/** Collects lines in memory; used by tests and to build summaries. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(
    createLogger((level, line) => lines.push(`${level}: ${line}`)),
    { lines },
  );
}
