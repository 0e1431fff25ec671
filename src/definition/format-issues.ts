import { z } from 'zod';
import { closestMatch } from './aws-regions.ts';
import { keyedUnions } from './schema.ts';
import { listKeys } from '../errors.ts';

/** What the messages can look up besides the issues: the schema parsed against, and the page documenting its fields. */
export interface FormatContext {
  /** The schema the input was parsed with: the fields an unknown key could have meant, a field's example. */
  readonly schema?: z.core.$ZodType;
  /** The document with the field reference that an unknown field is checked against. */
  readonly reference?: string;
}

type Def = { readonly type: string } & Record<string, unknown>;
const defOf = (schema: z.core.$ZodType) => schema._zod.def as unknown as Def;

/**
 * The schemas that can stand at `path` below `schema` (several through a union), unwrapping optional, default and
 * the like. NOTE: hand-walked, as zod has no lookup by path; a kind of schema not listed ends the walk (no suggestion
 * or example is then given, the message is otherwise the same).
 */
export function schemasAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): z.core.$ZodType[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      // The wrapper itself stands at the path too: metadata can be given on it (`.optional().meta(...)`).
      return path.length === 0 ? [schema, ...schemasAt(def.innerType as z.core.$ZodType, path)] : schemasAt(def.innerType as z.core.$ZodType, path);
    case 'pipe':
      return schemasAt(def.in as z.core.$ZodType, path);
    case 'lazy':
      return schemasAt((def.getter as () => z.core.$ZodType)(), path);
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap((option) => schemasAt(option, path));
    case 'intersection':
      return [...schemasAt(def.left as z.core.$ZodType, path), ...schemasAt(def.right as z.core.$ZodType, path)];
  }
  if (path.length === 0) return [schema];
  const [key, ...rest] = path;
  if (def.type === 'object' && typeof key === 'string') {
    const field = (def.shape as Record<string, z.core.$ZodType>)[key];
    return field ? schemasAt(field, rest) : [];
  }
  if (def.type === 'array' && typeof key === 'number') return schemasAt(def.element as z.core.$ZodType, rest);
  if (def.type === 'record') return schemasAt(def.valueType as z.core.$ZodType, rest);
  return [];
}

/** The fields an object at `path` can have (of every union branch there). */
function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const keys = schemasAt(schema, path).flatMap((candidate) => {
    const def = defOf(candidate);
    return def.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
  });
  return [...new Set(keys)];
}

/** An example of a right value for the field at `path`, from the schema's metadata (`.meta({ examples })`). */
function exampleAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): unknown {
  for (const candidate of schemasAt(schema, path)) {
    const examples = z.globalRegistry.get(candidate)?.examples;
    if (Array.isArray(examples) && examples.length > 0) return examples[0];
  }
  return undefined;
}

/** A value as an author writes it in a definition: strings in single quotes. */
const asWritten = (value: unknown) => (typeof value === 'string' ? `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'` : JSON.stringify(value));

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
export function formatIssues(file: string, input: unknown, issues: readonly z.core.$ZodIssue[], context: FormatContext = {}): string[] {
  const reference = context.reference ?? 'docs/definitions.md';
  // An unknown key whose closest known field is a required one left out is one mistake (a misspelling), said once.
  const misspelt = new Map<string, string>();
  const suggestionFor = (path: readonly PropertyKey[], key: string) => {
    if (!context.schema) return undefined;
    const present = valueAt(input, path);
    const candidates = knownKeysAt(context.schema, path).filter((known) => present === null || typeof present !== 'object' || !Object.hasOwn(present, known));
    return closestMatch(key, candidates, Math.min(3, Math.max(1, Math.floor(key.length / 3))));
  };
  for (const issue of issues)
    if (issue.code === 'unrecognized_keys')
      for (const key of issue.keys) {
        const suggestion = suggestionFor(issue.path, key);
        const missing = issues.some((other) => other.code === 'invalid_type' && formatPath(other.path) === formatPath([...issue.path, suggestion ?? '']) && valueAt(input, other.path) === undefined);
        if (suggestion && missing) misspelt.set(formatPath([...issue.path, suggestion]), key);
      }
  return issues.flatMap((issue): string[] => {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const keyed = formatKeyedUnion(file, input, issue, context);
      if (keyed) return keyed;
      // A branch whose type did not even match (string vs object) is the least likely intent.
      const typeMismatch = (branch: readonly z.core.$ZodIssue[]) => (branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0) ? 1 : 0);
      const closest = [...issue.errors].sort((a, b) => typeMismatch(a) - typeMismatch(b) || a.length - b.length || countKnownKeys(b) - countKnownKeys(a))[0]!;
      const nested = closest.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
      return formatIssues(file, input, nested as z.core.$ZodIssue[], context);
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
        return issue.keys.map((key) => {
          const suggestion = suggestionFor(issue.path, key);
          const field = `${file}: ${path ? `${path}.` : ''}${key}:`;
          if (suggestion && misspelt.get(formatPath([...issue.path, suggestion])) === key)
            return `${field} is not a known field. Did you mean ${suggestion}? It is required and missing: rename ${key} to ${suggestion}.`;
          return suggestion
            ? `${field} is not a known field. Did you mean ${suggestion}? Rename it, or remove it (field reference: ${reference}).`
            : `${field} is not a known field. Remove it, or check the spelling against the field reference in ${reference}.`;
        });
      case 'invalid_type': {
        if (value === undefined) return misspelt.has(path) ? [] : [`${where} is required (${issue.expected}).`];
        const example = context.schema ? exampleAt(context.schema, issue.path) : undefined;
        const key = issue.path.at(-1);
        const writtenAs = (right: unknown) => (typeof key === 'string' ? `${key}: ${asWritten(right)}` : asWritten(right));
        // NOTE: a number where a string belongs is most often a version or an ID written without quotes. The schema's
        // example is shown where it has one: the number as read cannot be quoted back as written, since 1.0 is 1.
        const quote =
          issue.expected === 'string' && typeof value === 'number'
            ? example === undefined
              ? ` Quote it: ${writtenAs(String(value))}.`
              : ` Quote it, as in ${writtenAs(example)} (unquoted, 1.0 is the number 1: its trailing zero is lost).`
            : example === undefined
              ? ''
              : ` For example: ${writtenAs(example)}.`;
        return [`${where} ${describeValue(value)} should be ${issue.expected}.${quote}`];
      }
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

/**
 * For unions told apart by a key (`base`, `provision[i]`, `launchPermissions`):
 * when the value names no branch or several, say so; when it names exactly one,
 * report that branch's problems only.
 */
function formatKeyedUnion(file: string, input: unknown, issue: z.core.$ZodIssueInvalidUnion, context: FormatContext): string[] | undefined {
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
    return formatIssues(file, input, branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })) as z.core.$ZodIssue[], context);
  }
  const found = chosen.length === 0 ? (present.length === 0 ? 'none' : `only ${listKeys(present)}`) : listKeys(chosen.map((index) => labels[index]!));
  return [`${file}: ${path}: give exactly one of ${labels.join(', ')}; found ${found}.`];
}
