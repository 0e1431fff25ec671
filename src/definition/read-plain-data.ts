/**
 * Copies what a definition file exported into plain data (objects, arrays,
 * strings, numbers, booleans, null, RegExps) and says, field by field, what
 * is not plain data: class instances, Promises, functions, getters that
 * throw, cycles, `__proto__` keys, non-finite numbers and lone surrogates.
 * The schema then only ever sees plain data, so none of these can crash it,
 * hang it or slip past it.
 */
import { uncarriableTextProblem } from '../render/escape.ts';

export interface PlainData {
  readonly value: unknown;
  /** `field: problem`, e.g. `tags.team: its getter threw "boom". …` */
  readonly problems: string[];
}

const maxDepth = 64;

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function fieldOf(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (identifier.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

function kindOf(value: object): string {
  if (typeof (value as { then?: unknown }).then === 'function') return 'a Promise';
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name ? `a ${name} object` : 'an object with a custom prototype';
}

export function readPlainData(exported: unknown): PlainData {
  const problems: string[] = [];
  const where = (field: string) => field || 'the default export';
  const ancestors: object[] = [];
  const ancestorFields: string[] = [];

  const copy = (value: unknown, field: string): unknown => {
    switch (typeof value) {
      case 'string': {
        const problem = uncarriableTextProblem(value);
        if (problem) problems.push(`${where(field)}: ${problem}.`);
        return value;
      }
      case 'number':
        if (!Number.isFinite(value)) problems.push(`${where(field)}: ${value} is not a finite number. Write a number such as 30.`);
        return value;
      case 'boolean':
      case 'undefined':
        return value;
      case 'function':
        problems.push(`${where(field)}: is a function. Write the value itself (definitions are data, evaluated once when the file loads).`);
        return undefined;
      case 'bigint':
      case 'symbol':
        problems.push(`${where(field)}: is a ${typeof value}. Write a string or a number.`);
        return undefined;
    }
    if (value === null) return null;
    const object = value as object;
    if (object instanceof RegExp) return object;
    const cycleAt = ancestors.indexOf(object);
    if (cycleAt !== -1) {
      problems.push(`${where(field)}: refers back to ${where(ancestorFields[cycleAt] as string)}, a cycle. Write the value out; definitions are trees of plain data.`);
      return undefined;
    }
    if (ancestors.length >= maxDepth) {
      problems.push(`${where(field)}: is nested more than ${maxDepth} levels deep. Flatten it.`);
      return undefined;
    }
    const isArray = Array.isArray(object);
    const prototype = Object.getPrototypeOf(object);
    if (!isArray && prototype !== Object.prototype && prototype !== null) {
      const kind = kindOf(object);
      problems.push(`${where(field)}: is ${kind}, not plain data.${kind === 'a Promise' ? ' Export the value itself: definitions cannot be async.' : ' Write an object literal { … } instead.'}`);
      return undefined;
    }
    ancestors.push(object);
    ancestorFields.push(field);
    try {
      const result: Record<string, unknown> | unknown[] = isArray ? [] : {};
      for (const key of Reflect.ownKeys(object)) {
        if (typeof key === 'symbol') continue;
        if (isArray && key === 'length') continue;
        const childField = fieldOf(field, isArray && /^\d+$/.test(key) ? Number(key) : key);
        if (key === '__proto__') {
          problems.push(`${where(field)}: has a "__proto__" key, which JavaScript treats as the object's prototype. Rename the key.`);
          continue;
        }
        const descriptor = Object.getOwnPropertyDescriptor(object, key);
        if (!descriptor || !descriptor.enumerable) continue;
        let item: unknown;
        if (descriptor.get) {
          try {
            item = descriptor.get.call(object);
          } catch (error) {
            problems.push(`${childField}: its getter threw "${describeError(error)}". Write a plain value instead of a getter.`);
            continue;
          }
        } else item = descriptor.value;
        const copied = copy(item, childField);
        if (isArray) (result as unknown[])[Number(key)] = copied;
        else Object.defineProperty(result, key, { value: copied, enumerable: true, writable: true, configurable: true });
      }
      return result;
    } finally {
      ancestors.pop();
      ancestorFields.pop();
    }
  };

  const value = copy(exported, '');
  return { value, problems };
}
