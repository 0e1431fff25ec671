/**
 * The plan a changing command printed before applying it: every trip prints `<heading>:` and then the plan, formatted
 * exactly as `gild plan` formats it (src/apply/run-trip.ts, formatRunPlan), before its runner starts. A lifecycle test
 * that wants to see the plan and then the run reads it here, instead of spawning `gild plan` on the same state first.
 */
import { expect } from 'vitest';

export function planPrintedBy(result: { readonly stdout: string }, heading = 'Plan for run'): string {
  const start = result.stdout.indexOf(`${heading} `);
  expect(start, `no "${heading}" in:\n${result.stdout}`).toBeGreaterThanOrEqual(0);
  const body = result.stdout.slice(result.stdout.indexOf(':\n', start) + 2);
  // The plan has no blank line of its own; the trip ends it with one.
  const end = body.indexOf('\n\n');
  return end === -1 ? body : body.slice(0, end);
}
