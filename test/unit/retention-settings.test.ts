import { describe, expect, it } from 'vitest';
import { formatSettingsIssues } from '../../src/settings/load-settings.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const settingsErrors = (settings: unknown) => {
  const parsed = pipelineSettingsSchema.safeParse(settings);
  return parsed.success ? [] : formatSettingsIssues(settings, parsed.error.issues);
};

describe('retention settings', () => {
  it('ships defaults that keep today’s behaviour: keep 3, no age limits, no grace periods, revoked versions kept 30 days', () => {
    expect(pipelineSettingsSchema.parse({}).retention).toEqual({ keep: 3, minAgeDays: 0, phases: {}, keepRevokedDays: 30 });
    expect(pipelineSettingsSchema.parse({ retention: { keep: 5 } }).retention).toEqual({ keep: 5, minAgeDays: 0, phases: {}, keepRevokedDays: 30 });
  });

  it('gives an image the settings’ defaults for every field it leaves out', () => {
    const { images, errors } = validateOne({ retention: { keep: 2 } }, { retention: { keep: 5, maxAgeDays: 90, minAgeDays: 7, phases: { deprecate: { graceDays: 14 } } } });
    expect(errors).toEqual([]);
    expect(images[0]!.retention).toEqual({ keep: 2, maxAgeDays: 90, minAgeDays: 7, phases: { deprecate: { graceDays: 14 } }, keepRevokedDays: 30 });
  });

  it('lets an image replace the phases as a whole', () => {
    const { images } = validateOne({ retention: { phases: { disable: { graceDays: 3 } } } }, { retention: { phases: { deprecate: { graceDays: 14 } } } });
    expect(images[0]!.retention.phases).toEqual({ disable: { graceDays: 3 } });
  });

  it('names the file, the field and the fix for bad values, all at once', () => {
    expect(settingsErrors({ retention: { keep: 0, maxAgeDays: 1.5, minAgeDays: -1, phases: { deprecate: { graceDays: -2 }, archive: {} } } })).toEqual([
      'pipeline/settings.ts: retention.keep: 0 must keep at least 1 version.',
      'pipeline/settings.ts: retention.maxAgeDays: 1.5 must be a whole number of days.',
      'pipeline/settings.ts: retention.minAgeDays: -1 must be 0 or more days.',
      'pipeline/settings.ts: retention.phases.deprecate.graceDays: -2 must be 0 or more days. Use 0 to move on at the next run.',
      'pipeline/settings.ts: retention.phases.archive: is not a known field. Remove it, or check the spelling against the field reference in docs/settings.md.',
    ]);
  });

  it('refuses a minimum age above the maximum age, in settings and in a definition', () => {
    expect(settingsErrors({ retention: { maxAgeDays: 30, minAgeDays: 60 } })).toEqual([
      'pipeline/settings.ts: retention.minAgeDays: 60 is more than maxAgeDays (30), so versions between 30 and 60 days old would be both too old and too young. Lower minAgeDays or raise maxAgeDays.',
    ]);
    expect(validateOne({ retention: { maxAgeDays: 10, minAgeDays: 11 } }).errors).toEqual([
      'images/web.ts: retention.minAgeDays: 11 is more than maxAgeDays (10), so versions between 10 and 11 days old would be both too old and too young. Lower minAgeDays or raise maxAgeDays.',
    ]);
  });
});

describe('channel names', () => {
  it('refuses names that collide with the parameter layout or with what every object has, naming each', () => {
    const errors = settingsErrors(JSON.parse('{"channels": {"latest": {}, "v2": {}, "versions": {}, "constructor": {}, "__proto__": {}, "tostring": {}, "stable": {}, "ledger": {}}}'));
    for (const name of ['latest', 'v2', 'versions', 'constructor', 'ledger'])
      expect(
        errors.some((error) => error.includes(name)),
        `${name}: ${errors.join('\n')}`,
      ).toBe(true);
    expect(errors.some((error) => error.includes('"stable"') && !error.includes('such as "stable"'))).toBe(false);
    expect(errors.find((error) => error.includes('constructor'))).toMatch(/is reserved/);
    expect(settingsErrors({ channels: { stable: {}, beta: { soakDays: 3 } } })).toEqual([]);
    // zod never copies a `__proto__` key (and a TypeScript object literal never has one of its own): it cannot become a channel.
    const parsed = pipelineSettingsSchema.parse(JSON.parse('{"channels": {"__proto__": {"soakDays": 1}, "stable": {}}}'));
    expect(Object.hasOwn(parsed.channels, '__proto__')).toBe(false);
  });
});
