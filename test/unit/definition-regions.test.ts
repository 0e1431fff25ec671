import { describe, expect, it } from 'vitest';
import { awsRegions, closestMatch } from '../../src/definition/aws-regions.ts';
import { formatIssues } from '../../src/definition/format-issues.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

describe('regions and copies', () => {
  it('knows the commercial, GovCloud and China regions', () => {
    for (const region of ['us-east-1', 'eu-central-2', 'ap-southeast-5', 'mx-central-1', 'us-gov-west-1', 'cn-northwest-1']) expect(awsRegions).toContain(region);
  });

  it('suggests the closest region for a typo', () => {
    expect(closestMatch('eu-wset-1', awsRegions)).toBe('eu-west-1');
    expect(closestMatch('mars-north-1', awsRegions)).toBeUndefined();
  });

  it('rejects an unknown build or copy region with a suggestion', () => {
    const { errors } = validateOne({ regions: { build: 'us-east-7', copies: ['eu-wset-1', 'moon-1'] } });
    expect(errors).toEqual([
      'images/web.ts: regions.build: "us-east-7" is not an AWS region. Did you mean "us-east-1"?',
      'images/web.ts: regions.copies[0]: "eu-wset-1" is not an AWS region. Did you mean "eu-west-1"?',
      'images/web.ts: regions.copies[1]: "moon-1" is not an AWS region (commercial, GovCloud or China). Use a region name such as "us-east-1"; see src/definition/aws-regions.ts for the list.',
    ]);
  });

  it('lists the build region first, then the copies', () => {
    const { images } = validateOne({ regions: { build: 'us-east-1', copies: ['eu-west-1', 'ap-south-1'] } });
    expect(images[0]!.regions).toEqual(['us-east-1', 'eu-west-1', 'ap-south-1']);
  });

  it('rejects a copy to the build region or the same region twice', () => {
    const { errors } = validateOne({ regions: { build: 'us-east-1', copies: ['us-east-1', 'eu-west-1', 'eu-west-1'] } });
    expect(errors).toEqual([
      'images/web.ts: regions.copies[0]: "us-east-1" is the build region. The AMI is already there; remove it from copies.',
      'images/web.ts: regions.copies[2]: "eu-west-1" is listed twice. Remove the duplicate.',
    ]);
  });

  it('rejects a copy into another partition', () => {
    const { errors } = validateOne({ regions: { build: 'us-east-1', copies: ['us-gov-west-1'] } });
    expect(errors).toEqual([
      'images/web.ts: regions.copies[0]: "us-gov-west-1" is in the aws-us-gov partition but the build region "us-east-1" is in aws. AMIs cannot be copied across partitions; define a separate image for it.',
    ]);
  });

  it('rejects a region outside the settings allow-list', () => {
    const { errors } = validateOne({ regions: { build: 'us-east-1', copies: ['eu-west-1'] } }, { regions: ['us-east-1', 'us-west-2'] });
    expect(errors).toEqual([
      'images/web.ts: regions.copies[0]: "eu-west-1" is not one of the regions pipeline/settings.ts allows (us-east-1, us-west-2). Use one of those, or add it to settings.regions.',
    ]);
  });

  it('accepts deprecateAfterDays as a positive whole number of days', () => {
    expect(validateOne({ deprecateAfterDays: 90 }).images[0]!.deprecateAfterDays).toBe(90);
    expect(validateOne({ deprecateAfterDays: 0 }).errors).toHaveLength(1);
  });
});

describe('pipeline settings for regions and the publishing account', () => {
  it('checks the settings region allow-list and account ID like the definitions', () => {
    const input = { regions: ['us-east-1', 'eu-wset-1'], accountId: '1234' };
    const parsed = pipelineSettingsSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(formatIssues('pipeline/settings.ts', input, parsed.error!.issues)).toEqual([
      'pipeline/settings.ts: accountId: "1234" is not a 12-digit AWS account ID. Use the publishing account\'s 12-digit ID.',
      'pipeline/settings.ts: regions[1]: "eu-wset-1" is not an AWS region. Did you mean "eu-west-1"?',
    ]);
  });
});
