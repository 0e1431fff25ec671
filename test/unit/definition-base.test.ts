import { describe, expect, it } from 'vitest';
import { validate, validateOne, validDefinition } from '../fixtures/definitions/validate-one.ts';

describe('base image', () => {
  it('resolves an SSM parameter base', () => {
    const { errors, images } = validateOne({ base: { ssmParameter: '/golden/base/latest' } });
    expect(errors).toEqual([]);
    expect(images[0]!.base).toEqual({ kind: 'ssm', parameter: '/golden/base/latest' });
  });

  it('resolves an owner and name filter, excluding deprecated images unless asked', () => {
    const { images } = validateOne({ base: { filter: { owners: ['099720109477'], name: 'ubuntu/images/*' } } });
    expect(images[0]!.base).toEqual({ kind: 'filter', owners: ['099720109477'], name: 'ubuntu/images/*', includeDeprecated: false });
    const withDeprecated = validateOne({ base: { filter: { owners: ['self'], name: 'x-*', includeDeprecated: true } } });
    expect(withDeprecated.images[0]!.base).toMatchObject({ includeDeprecated: true });
  });

  it('rejects a filter owner that is not an account ID or alias', () => {
    const { errors } = validateOne({ base: { filter: { owners: ['canonical'], name: 'ubuntu/*' } } });
    expect(errors).toEqual(['images/web.ts: base.filter.owners[0]: "canonical" is not an owner. Use a 12-digit account ID, "amazon", "self" or "aws-marketplace".']);
  });

  it('accepts a pinned AMI per region and requires one for the build region', () => {
    expect(validateOne({ base: { ami: { 'us-east-1': 'ami-0123456789abcdef0' } } }).errors).toEqual([]);
    expect(validateOne({ base: { ami: { 'eu-west-1': 'ami-0123456789abcdef0' } } }).errors).toEqual([
      'images/web.ts: base.ami: has no AMI for the build region "us-east-1". Add "us-east-1": "ami-…".',
    ]);
  });

  it('names the region key that is not a region', () => {
    const { errors } = validateOne({ base: { ami: { 'us-east-1': 'ami-0123456789abcdef0', 'us-esat-2': 'ami-0123456789abcdef0' } } });
    expect(errors).toEqual(['images/web.ts: base.ami.us-esat-2: key "us-esat-2" is not an AWS region. Did you mean "us-east-2"?']);
  });

  it('reports two sources with the names of both', () => {
    const { errors } = validateOne({ base: { ssmParameter: '/a/b', ami: 'ami-12345678' } });
    expect(errors).toEqual(['images/web.ts: base: give exactly one of ssmParameter, filter, ami, image, preset; found ssmParameter and ami.']);
  });

  it('reports a base with no source', () => {
    expect(validateOne({ base: {} }).errors).toEqual(['images/web.ts: base: give exactly one of ssmParameter, filter, ami, image, preset; found none.']);
    expect(validateOne({ base: 'ami-12345678' }).errors).toEqual(['images/web.ts: base: "ami-12345678" should be an object with exactly one of ssmParameter, filter, ami, image, preset.']);
  });

  it('reports the problem inside the one source given', () => {
    expect(validateOne({ base: { ami: 'ami-xyz' } }).errors).toEqual(['images/web.ts: base.ami: "ami-xyz" is not an AMI ID (e.g. "ami-0123456789abcdef0").']);
  });

  it('validates a semver range on a gild image base', () => {
    const base = { ...validDefinition, name: 'base' };
    const { errors } = validate([base, { ...validDefinition, base: { image: 'base', range: 'one-ish' } }]);
    expect(errors).toEqual(['images/web.ts: base.range: "one-ish" is not a semver range. Use one such as "^1", "~1.4" or ">=1.2.0 <2".']);
  });

  it('records the dependency on another gild image', () => {
    const { errors, images } = validate([
      { ...validDefinition, name: 'base' },
      { ...validDefinition, base: { image: 'base', range: '^1' } },
    ]);
    expect(errors).toEqual([]);
    expect(images.find((image) => image.name === 'web')!.dependsOn).toEqual(['base']);
  });

  it('reports a gild image base that does not exist, with a suggestion', () => {
    const { errors } = validate([
      { ...validDefinition, name: 'base' },
      { ...validDefinition, base: { image: 'bsae' } },
    ]);
    expect(errors).toEqual(['images/web.ts: base.image: "bsae" is not a gild image. Did you mean "base"? Known images: base, web.']);
  });

  it('does not call a base missing when its own definition failed the schema', () => {
    const { errors } = validate([
      { ...validDefinition, name: 'base', version: 'one' },
      { ...validDefinition, base: { image: 'base' } },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^images\/base\.ts: version:/);
  });

  it('lists a dependency cycle', () => {
    const { errors } = validate([
      { ...validDefinition, name: 'a', base: { image: 'b' } },
      { ...validDefinition, name: 'b', base: { image: 'a' } },
    ]);
    expect(errors).toEqual(['images/a.ts: base.image: images depend on each other in a cycle: a → b → a. Break the cycle by building one of them on an AMI or preset.']);
  });
});
