/**
 * HCL2 values as text: quoted-string escaping, lists, maps and blocks. Every
 * value gild puts into a Packer template goes through `hclString`, so a tag
 * value, a description or a shell command comes out exactly as written: never
 * as an interpolation, a directive or HTML entities.
 *
 * Lines come out unindented and unaligned; `formatHcl` lays them out the way
 * `packer fmt` does.
 */
import type Handlebars from 'handlebars';

export type HclValue = string | number | boolean | readonly HclValue[] | { readonly [key: string]: HclValue };

export type HclEntry = { readonly kind: 'attribute'; readonly name: string; readonly value: HclValue } | { readonly kind: 'block'; readonly type: string; readonly body: HclBody };

export type HclBody = readonly HclEntry[];

export const attribute = (name: string, value: HclValue): HclEntry => ({ kind: 'attribute', name, value });
export const block = (type: string, body: HclBody): HclEntry => ({ kind: 'block', type, body });

const identifierPattern = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function isHclIdentifier(name: string): boolean {
  return identifierPattern.test(name);
}

const simpleEscapes: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A quoted HCL2 string whose value is exactly `value`. Quoted strings are
 * templates, so `${` and `%{` are doubled to stay literal; control characters
 * become `\uNNNN` because a raw one would end the line or confuse a reader.
 */
export function hclString(value: string): string {
  const escaped = value
    .replace(/["\\\n\r\t]|[\u0000-\u001f\u007f]/g, (character) => simpleEscapes[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\$\{/g, () => '$${') // a function, because '$$' in a replacement string means one '$'
    .replace(/%\{/g, '%%{');
  return `"${escaped}"`;
}

function isMap(value: HclValue): value is { readonly [key: string]: HclValue } {
  return typeof value === 'object' && !Array.isArray(value);
}

/** Lists stay on one line; maps take one key per line so `packer fmt` alignment is simple. */
export function hclValue(value: HclValue): string {
  if (typeof value === 'string') return hclString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${value} is not a number HCL can hold`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: HclValue) => hclValue(item)).join(', ')}]`;
  if (isMap(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    return ['{', ...keys.map((key) => `${hclString(key)} = ${hclValue(value[key] as HclValue)}`), '}'].join('\n');
  }
  throw new TypeError(`${String(value)} is not a value HCL can hold`);
}

export function hclBody(body: HclBody): string {
  return body.map((entry) => (entry.kind === 'attribute' ? `${entry.name} = ${hclValue(entry.value)}` : [`${entry.type} {`, hclBody(entry.body), '}'].filter(Boolean).join('\n'))).join('\n');
}

/**
 * Templates use these with triple-stash (`{{{hclString x}}}`) and are compiled
 * with `noEscape`, so Handlebars never HTML-escapes a value.
 */
export function registerHclHelpers(handlebars: typeof Handlebars): void {
  // NOTE: strict mode does not check a helper's arguments, so the helpers refuse
  // a missing one themselves rather than render "undefined" into the HCL.
  const given = <T>(helper: string, value: T | undefined, options: Handlebars.HelperOptions): T => {
    if (value === undefined) throw new handlebars.Exception(`${helper} was given a field that is not defined`, options as unknown as ConstructorParameters<typeof handlebars.Exception>[1]);
    return value;
  };
  handlebars.registerHelper('hclString', (value: unknown, options: Handlebars.HelperOptions) => hclString(String(given('hclString', value, options))));
  handlebars.registerHelper('hclValue', (value: HclValue | undefined, options: Handlebars.HelperOptions) => hclValue(given('hclValue', value, options)));
  handlebars.registerHelper('hclBody', (body: HclBody | undefined, options: Handlebars.HelperOptions) => hclBody(given('hclBody', body, options)));
}
