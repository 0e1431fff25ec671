/**
 * Check output goes into logs and a JSON report, so it is bounded. The head
 * and the tail are what a reader needs: how a command started and how it
 * ended.
 */
export const defaultOutputLimitBytes = 24 * 1024;

export function truncateOutput(text: string, limitBytes = defaultOutputLimitBytes): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return text;
  const half = Math.floor(limitBytes / 2);
  const omitted = bytes.length - 2 * half;
  // NOTE: slicing bytes may split a multi-byte character; the decoder turns the
  // broken edge into U+FFFD, which is acceptable for log evidence.
  const head = bytes.subarray(0, half).toString('utf8');
  const tail = bytes.subarray(bytes.length - half).toString('utf8');
  return `${head}\n… [${omitted} bytes omitted by gild] …\n${tail}`;
}
