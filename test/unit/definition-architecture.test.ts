import { describe, expect, it } from 'vitest';
import { architectureOf } from '../../src/definition/instance-architecture.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

describe('platform and architecture', () => {
  it.each([
    'a1.medium',
    't4g.micro',
    'm6g.large',
    'm7g.xlarge',
    'm8g.large',
    'c6g.large',
    'c6gn.large',
    'c7g.large',
    'c7gd.large',
    'c8g.large',
    'r6g.large',
    'r6gd.large',
    'r7g.large',
    'r8g.large',
    'x2gd.large',
    'im4gn.large',
    'is4gen.large',
    'g5g.xlarge',
    'hpc7g.4xlarge',
    'm7gd.large',
  ])('treats %s as a Graviton (arm64) type', (instanceType) => expect(architectureOf(instanceType)).toBe('arm64'));

  it.each([
    't3.micro',
    't3a.small',
    'm5.large',
    'm7i.large',
    'm7i-flex.large',
    'c7a.large',
    'g4dn.xlarge',
    'g5.xlarge',
    'g6e.xlarge',
    'p4d.24xlarge',
    'x2idn.32xlarge',
    'r5b.large',
    'hpc6a.48xlarge',
    'inf2.xlarge',
    'z1d.large',
  ])('treats %s as an x86_64 type', (instanceType) => expect(architectureOf(instanceType)).toBe('x86_64'));

  it('defaults to linux on x86_64', () => {
    const { images } = validateOne({ base: { ssmParameter: '/golden/base' } });
    expect(images[0]).toMatchObject({ platform: 'linux', architecture: 'x86_64' });
  });

  it('rejects a build instance type of the other architecture', () => {
    const { errors } = validateOne({ architecture: 'arm64', instanceType: 't3.micro' });
    expect(errors).toEqual([
      'images/web.ts: instanceType: "t3.micro" is an x86_64 instance type, but the image is arm64. Use a Graviton type such as "t4g.micro" or "m7g.large", or set architecture: "x86_64".',
    ]);
  });

  it('rejects a smoke instance type of the other architecture', () => {
    const { errors } = validateOne({ smoke: { instanceTypes: ['t3.micro', 'm7g.large'] } });
    expect(errors).toEqual([
      'images/web.ts: smoke.instanceTypes[1]: "m7g.large" is an arm64 instance type, but the image is x86_64. Use an Intel or AMD type such as "t3.micro" or "m7i.large", or set architecture: "arm64".',
    ]);
  });

  it('smoke-tests an arm64 image on its build type when the settings default is x86_64', () => {
    const { errors, images } = validateOne({ architecture: 'arm64', instanceType: 't4g.small' });
    expect(errors).toEqual([]);
    expect(images[0]!.smoke.instanceTypes).toEqual(['t4g.small']);
  });

  it('rejects an unknown architecture value', () => {
    expect(validateOne({ architecture: 'aarch64' }).errors).toEqual(['images/web.ts: architecture: "aarch64" is not allowed. Use one of: "x86_64", "arm64".']);
  });
});
