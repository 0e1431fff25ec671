/** What a definition or settings mistake is reported as: the field, what is wrong, and the fix. */
import { describe, expect, it } from 'vitest';
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
    expect(validateOne({ version: 1.0 }).errors).toEqual(["images/web.ts: version: 1 should be string. Quote it: unquoted, it is a number (1.0 becomes 1); write version: '1.0.0'."]);
  });

  it('a number where a string belongs is told to be quoted even where the schema has no example', () => {
    expect(validateOne({ instanceType: 3 }).errors).toEqual(['images/web.ts: instanceType: 3 should be string. Quote it: unquoted, it is a number (1.0 becomes 1).']);
  });

  it('other wrong types are said as before', () => {
    expect(validateOne({ patch: 'yes' }).errors).toEqual(['images/web.ts: patch: "yes" should be boolean.']);
  });
});
