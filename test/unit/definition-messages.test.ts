/** What a definition or settings mistake is reported as: the field, what is wrong, and the fix. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { couldNotLoad } from '../../src/definition/load-definitions.ts';
import { formatSettingsIssues } from '../../src/settings/load-settings.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { validate, validDefinition, validateOne } from '../fixtures/definitions/validate-one.ts';

const settingsErrors = (settings: unknown) => {
  const parsed = pipelineSettingsSchema.safeParse(settings);
  return parsed.success ? [] : formatSettingsIssues(settings, parsed.error.issues);
};

describe('a misspelt field', () => {
  it('is one message naming the required field it stands for, not an unknown field and a missing one', () => {
    const { instanceType, ...rest } = validDefinition;
    expect(validate([{ ...rest, instanceTyp: instanceType }]).errors).toEqual([
      'images/web.ts: instanceTyp: is not a known field. Did you mean instanceType? It is required and missing: rename instanceTyp to instanceType.',
    ]);
  });

  it('suggests the closest known field of an optional one, at any depth', () => {
    expect(validateOne({ tag: { owner: 'web' } }).errors).toEqual(['images/web.ts: tag: is not a known field. Did you mean tags? Rename it, or remove it (field reference: docs/definitions.md).']);
    expect(validateOne({ buildInfrastructure: { sessionManger: true } }).errors).toEqual([
      'images/web.ts: buildInfrastructure.sessionManger: is not a known field. Did you mean sessionManager? Rename it, or remove it (field reference: docs/definitions.md).',
    ]);
  });

  it('suggests nothing when no field is close, nor a field the definition already has', () => {
    expect(validateOne({ colour: 'blue' }).errors).toEqual(['images/web.ts: colour: is not a known field. Remove it, or check the spelling against the field reference in docs/definitions.md.']);
    // `tags` is there already: `tag` is not a misspelling of it.
    expect(validateOne({ tags: { owner: 'web' }, tag: 'x' }).errors).toEqual([
      'images/web.ts: tag: is not a known field. Remove it, or check the spelling against the field reference in docs/definitions.md.',
    ]);
  });

  it('in the settings points to docs/settings.md, with the closest known field', () => {
    expect(settingsErrors({ concurency: 2 })).toEqual([
      'pipeline/settings.ts: concurency: is not a known field. Did you mean concurrency? Rename it, or remove it (field reference: docs/settings.md).',
    ]);
    expect(settingsErrors({ nonsenseField: 2 })).toEqual([
      'pipeline/settings.ts: nonsenseField: is not a known field. Remove it, or check the spelling against the field reference in docs/settings.md.',
    ]);
  });
});

describe('a value of the wrong type', () => {
  it('an unquoted version is told to be quoted, with an example of the right form', () => {
    expect(validateOne({ version: 1.0 }).errors).toEqual(["images/web.ts: version: 1 should be string. Quote it, as in version: '1.0.0' (unquoted, 1.0 is the number 1: its trailing zero is lost)."]);
  });

  it('a number where a string belongs is told to be quoted even where the schema has no example', () => {
    expect(validateOne({ instanceType: 3 }).errors).toEqual(["images/web.ts: instanceType: 3 should be string. Quote it: instanceType: '3'."]);
  });

  it("other wrong types show the schema's example where it has one", () => {
    expect(validateOne({ patch: 'yes' }).errors).toEqual(['images/web.ts: patch: "yes" should be boolean.']);
    expect(validateOne({ version: true }).errors).toEqual(["images/web.ts: version: true should be string. For example: version: '1.0.0'."]);
  });
});

describe('a file that could not be loaded', () => {
  const cwd = path.resolve('/projects/acme');
  const file = path.join(cwd, 'images/web.ts');

  it('puts the line and column beside the file when the error is in it', () => {
    expect(couldNotLoad('images/web.ts', file, cwd, { kind: 'threw', message: 'ParseError: Unexpected token', location: { absolutePath: file, line: 4, column: 2 } })).toBe(
      'images/web.ts:4:2: could not be loaded: ParseError: Unexpected token. Fix the file so that it compiles and runs.',
    );
  });

  it('names a helper the definition imports, relative to the project, when the error is there', () => {
    const helper = path.join(cwd, 'lib/tags.ts');
    expect(couldNotLoad('images/web.ts', file, cwd, { kind: 'threw', message: 'ParseError: Unexpected token', location: { absolutePath: helper, line: 9, column: 1 } })).toBe(
      'images/web.ts: could not be loaded: ParseError: Unexpected token (at lib/tags.ts:9:1). Fix the file so that it compiles and runs.',
    );
  });

  it('says the message alone when there is no location (an error thrown at import time)', () => {
    expect(couldNotLoad('images/web.ts', file, cwd, { kind: 'threw', message: 'Error: no network here' })).toBe(
      'images/web.ts: could not be loaded: Error: no network here. Fix the file so that it compiles and runs.',
    );
  });
});
