import type { z } from 'zod';
import { keyedUnions } from './schema.ts';

/** `launchPermissions.accounts[1]` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined), input);
}

/**
 * Turns zod issues into gild messages: `file: path: "value" what is wrong. How to fix.`
 * Unions report the closest branch, so authors get one useful line rather than
 * every alternative.
 */
export function formatIssues(file: string, input: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue): string[] => {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const keyed = formatKeyedUnion(file, input, issue);
      if (keyed) return keyed;
      // A branch whose type did not even match (string vs object) is the least likely intent.
      const typeMismatch = (branch: readonly z.core.$ZodIssue[]) => (branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0) ? 1 : 0);
      const closest = [...issue.errors].sort((a, b) => typeMismatch(a) - typeMismatch(b) || a.length - b.length || countKnownKeys(b) - countKnownKeys(a))[0]!;
      const nested = closest.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
      return formatIssues(file, input, nested as z.core.$ZodIssue[]);
    }
    const path = formatPath(issue.path);
    const where = path ? `${file}: ${path}:` : `${file}:`;
    const value = valueAt(input, issue.path);
    switch (issue.code) {
      case 'invalid_key': {
        const key = issue.path[issue.path.length - 1];
        return issue.issues.map((inner) => `${where} key ${JSON.stringify(String(key))} ${inner.message.replace(/^Invalid input: /, '')}${/[.?]$/.test(inner.message) ? '' : '.'}`);
      }
      case 'unrecognized_keys':
        return issue.keys.map((key) => `${file}: ${path ? `${path}.` : ''}${key}: is not a known field. Remove it, or check the spelling against the field reference in docs/definitions.md.`);
      case 'invalid_type':
        return [value === undefined ? `${where} is required (${issue.expected}).` : `${where} ${describeValue(value)} should be ${issue.expected}.`];
      case 'invalid_value':
        return [`${where} ${describeValue(value)} is not allowed. Use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`];
      default:
        return [`${where} ${describeValue(value)} ${issue.message.replace(/^Invalid input: /, '')}${/[.?]$/.test(issue.message) ? '' : '.'}`];
    }
  });
}

function countKnownKeys(issues: readonly z.core.$ZodIssue[]): number {
  return -issues.filter((issue) => issue.code === 'unrecognized_keys').length;
}

const listKeys = (keys: readonly string[]) => (keys.length <= 2 ? keys.join(' and ') : `${keys.slice(0, -1).join(', ')} and ${keys.at(-1)}`);

/**
 * For unions told apart by a key (`base`, `provision[i]`, `launchPermissions`):
 * when the value names no branch or several, say so; when it names exactly one,
 * report that branch's problems only.
 */
function formatKeyedUnion(file: string, input: unknown, issue: z.core.$ZodIssueInvalidUnion): string[] | undefined {
  const path = formatPath(issue.path);
  const union = keyedUnions.find((candidate) => candidate.path.test(path));
  if (!union || issue.errors.length !== union.branches.length) return undefined;
  const labels = union.branches.map((keys) => keys[0]!);
  const value = valueAt(input, issue.path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [`${file}: ${path}: ${describeValue(value)} should be an object with exactly one of ${labels.join(', ')}.`];
  }
  const present = Object.keys(value);
  const chosen = union.branches.flatMap((keys, index) => (keys.some((key) => present.includes(key)) ? [index] : []));
  if (chosen.length === 1) {
    const branch = issue.errors[chosen[0]!]!;
    return formatIssues(file, input, branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })) as z.core.$ZodIssue[]);
  }
  const found = chosen.length === 0 ? (present.length === 0 ? 'none' : `only ${listKeys(present)}`) : listKeys(chosen.map((index) => labels[index]!));
  return [`${file}: ${path}: give exactly one of ${labels.join(', ')}; found ${found}.`];
}
