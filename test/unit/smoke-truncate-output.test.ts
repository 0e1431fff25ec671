import { describe, expect, it } from 'vitest';
import { truncateOutput } from '../../src/smoke/truncate-output.ts';

describe('truncateOutput', () => {
  it('leaves output within the limit alone', () => {
    expect(truncateOutput('hello', 10)).toBe('hello');
  });

  it('keeps the head and the tail of long output with a marker between', () => {
    const output = `${'a'.repeat(50)}${'q'.repeat(100)}${'z'.repeat(50)}`;
    const truncated = truncateOutput(output, 100);
    expect(truncated.startsWith('a'.repeat(50))).toBe(true);
    expect(truncated.endsWith('z'.repeat(50))).toBe(true);
    expect(truncated).toContain('[100 bytes omitted by gild]');
    expect(truncated).not.toContain('q');
  });

  it('limits to 24 KiB per stream by default', () => {
    const truncated = truncateOutput('x'.repeat(100_000));
    expect(Buffer.byteLength(truncated)).toBeLessThan(24 * 1024 + 100);
  });
});
