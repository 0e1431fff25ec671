/**
 * SSM takes a narrower tag character set than EC2 (`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`, from the SSM API model). The
 * tags gild puts on parameters are its own (image name, version, run ID): every value those can take passes, and a
 * tag SSM would refuse is refused by the adapter before anything is sent, saying which tag and why. The settings
 * refuse an SSM prefix AWS would refuse for every parameter under it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSsmClient, createParameterIfAbsent, ssmTagProblems } from '../../src/adapters/ssm.ts';
import { newRunId } from '../../src/context.ts';
import { imageNamePattern } from '../../src/definition/image-name.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { captureAtTheWire } from '../support/aws-model-capture.ts';

describe('tags on SSM parameters', () => {
  it('every image name, version and run ID gild can tag a parameter with passes SSM’s rules, and the wire check agrees', async () => {
    const ssm = createSsmClient('us-east-1', { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const wire = captureAtTheWire(ssm);
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(imageNamePattern).filter((name) => name.length <= 64),
        fc.tuple(fc.nat(999), fc.nat(999), fc.nat(9999)).map((parts) => parts.join('.')),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }),
        async (image, version, at) => {
          const tags = { 'gild:image': image, 'gild:version': version, 'gild:run-id': newRunId(at) };
          expect(ssmTagProblems(tags)).toEqual([]);
          await createParameterIfAbsent(ssm, `/golden/${image}/versions/${version}`, 'ami-0123456789abcdef0', { dataType: 'aws:ec2:image', tags });
        },
      ),
      { numRuns: 60 },
    );
    expect(wire.violations()).toEqual([]);
  });

  it('a tag value SSM refuses is refused before it is sent, naming the tag and the rule', async () => {
    const ssm = createSsmClient('us-east-1', { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const wire = captureAtTheWire(ssm);
    await expect(createParameterIfAbsent(ssm, '/golden/web/versions/1.0.0', 'ami-0123456789abcdef0', { tags: { 'gild:run-id': 'run #1 (retry!)' } })).rejects.toThrow(
      /Cannot write parameter \/golden\/web\/versions\/1\.0\.0: SSM refuses its tags\. tag gild:run-id's value "run #1 \(retry!\)" may hold only letters, numbers, spaces and _ \. : \/ = \+ - @/,
    );
    expect(wire.captured).toEqual([]);
    expect(ssmTagProblems({ 'aws:owner': 'x', ok: 'ünïcödé välue = fine', ['k'.repeat(129)]: 'v' })).toEqual([
      'tag key "aws:owner" must not begin with "aws:", which AWS reserves',
      `tag key "${'k'.repeat(129)}" must be 1–128 characters`,
    ]);
  });

  it('the wire check names a PutParameter whose tag SSM would refuse (the model’s TagValue pattern)', async () => {
    const ssm = createSsmClient('us-east-1', { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const wire = captureAtTheWire(ssm);
    const { PutParameterCommand } = await import('@aws-sdk/client-ssm');
    await ssm.send(new PutParameterCommand({ Name: '/golden/web/latest', Value: 'ami-0123456789abcdef0', Type: 'String', Tags: [{ Key: 'team', Value: 'web & api' }] }));
    expect(wire.captured[0]!.check.violations).toMatchObject([
      { operation: 'PutParameter', member: 'Tags[0].Value', value: '"web & api"', rule: expect.stringContaining('must match the pattern ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$') },
    ]);
  });
});

describe('the SSM prefix in the settings', () => {
  const problems = (ssmPrefix: string) => pipelineSettingsSchema.safeParse({ ssmPrefix }).error?.issues.map((issue) => issue.message) ?? [];
  it('refuses what AWS refuses for every parameter under it: a first level beginning with aws or ssm, too deep, too long', () => {
    expect(problems('/golden')).toEqual([]);
    expect(problems('/org/team/images')).toEqual([]);
    expect(problems('/SSMimages')[0]).toMatch(/must not start with \/aws or \/ssm \(nor a first level beginning with "aws" or "ssm", in any case\)/);
    expect(problems('/awsome')[0]).toMatch(/which AWS reserves/);
    expect(problems(`/${Array.from({ length: 12 }, (_, index) => `l${index}`).join('/')}`)[0]).toMatch(/is deeper than 11 levels: SSM allows 15/);
    expect(problems(`/${'p'.repeat(701)}`)[0]).toMatch(/is longer than 700 characters/);
  });
});
