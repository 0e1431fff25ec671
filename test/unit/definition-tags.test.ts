import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

describe('naming and tagging policy', () => {
  it('requires the tags the pipeline settings declare', () => {
    const { errors } = validateOne({ tags: { team: 'web', owner: '' } }, { requiredTags: ['team', 'owner', 'cost-center'] });
    expect(errors).toEqual(['images/web.ts: tags: missing required tags "owner", "cost-center". pipeline/settings.ts requires every image to carry them.']);
  });

  it('accepts any characters in tags, as EC2 does, including quotes, newlines and ${', () => {
    expect(validateOne({ tags: { 'app/tier': 'web server', 'contact@': 'ops+ami@example.com', Größe: 'ü=1:2_3.4-5', 'team!': 'a,b "c"\n${x} %{y}' } }).errors).toEqual([]);
  });

  it('rejects keys and values that are too long, and aws: keys', () => {
    const { errors } = validateOne({ tags: { ['k'.repeat(129)]: 'x', note: 'v'.repeat(257), 'aws:team': 'x' } });
    expect(errors).toHaveLength(3);
    expect(errors.join('\n')).toMatch(/at most 128 characters[\s\S]*at most 256 characters[\s\S]*reserved by AWS/);
  });

  it('allows at most 37 tags, leaving room for the 13 tags gild adds by publishing (gild:patched-at and gild:prefix among them)', () => {
    const tags = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`tag${index}`, 'x']));
    expect(validateOne({ tags: tags(37) }).errors).toEqual([]);
    const { errors } = validateOne({ tags: tags(38) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^images\/web\.ts: tags: .+ has too many tags: AWS allows 50 per image and gild adds up to 13, so an image can carry at most 37\./);
  });

  it('refuses tags in the gild: namespace', () => {
    expect(validateOne({ tags: { 'gild:version': '9' } }).errors).toEqual(['images/web.ts: tags: "gild:version" is set by gild itself. Remove it.']);
  });

  it('requires kebab-case image names', () => {
    expect(validateOne({ name: 'Web_Server' }).errors).toEqual([
      'images/Web_Server.ts: name: "Web_Server" must be kebab-case: lower-case letters, digits and single hyphens, starting with a letter (e.g. "web-base").',
    ]);
  });
});
