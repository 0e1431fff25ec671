/** `2026-11-28T22:15:00.123Z` → `20261128T221500Z`: sortable, and safe in AMI names and run IDs. */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
