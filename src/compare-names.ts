/**
 * Orders two names as `a.localeCompare(b, 'en')` does, without ICU's collator where it can: for names of lowercase letters,
 * digits and hyphens (image names, regions, AMI IDs) the collator's order is the code units' order, and the first
 * `localeCompare` of a process starts the collator, ~10 ms of a no-op run's own time. Any other name is compared by
 * `localeCompare` in English, whatever the process's locale (LANG, LC_ALL): in Danish `aa` sorts after `z`, and a list
 * of plain and other names would have no consistent order. Only the sign of the result counts (as for `Array.prototype.sort`).
 */
export function compareNames(a: string, b: string): number {
  if (plainName.test(a) && plainName.test(b)) return compareCodeUnits(a, b);
  return a.localeCompare(b, 'en');
}

const plainName = /^[a-z0-9-]*$/;

/**
 * Orders strings whose code units' order is their meaning's by construction, with no collator: ISO-8601 UTC timestamps
 * of one format (AWS's `CreationDate`, `2026-11-29T12:00:00.000Z`) in time order, and gild's run IDs (a compact
 * timestamp first, `20261129T120000Z-k3x9qa`) in the order they were made. Not for names: a collator orders `B` after
 * `a`, code units before.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
