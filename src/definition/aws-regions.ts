/**
 * The AWS regions an image can be built in or copied to: commercial, GovCloud
 * and China partitions. Kept as a list (not fetched) so that `gild validate`
 * works offline and a typo is caught before any AWS call.
 *
 * NOTE: source is the AWS "Regions and Zones" page and the botocore endpoints
 * file. Add a region here when AWS opens one; an unknown name is an error.
 */
export const commercialRegions = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
] as const;

export const govCloudRegions = ['us-gov-east-1', 'us-gov-west-1'] as const;

export const chinaRegions = ['cn-north-1', 'cn-northwest-1'] as const;

export const awsRegions: readonly string[] = [...commercialRegions, ...govCloudRegions, ...chinaRegions];

export type AwsPartition = 'aws' | 'aws-us-gov' | 'aws-cn';

export function isKnownRegion(region: string): boolean {
  return awsRegions.includes(region);
}

/** The partition a region belongs to; an AMI can only be copied within one. */
export function partitionOf(region: string): AwsPartition {
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('cn-')) return 'aws-cn';
  return 'aws';
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest name within a small distance, or undefined when nothing is close. Case is not counted (instancetype is instanceType). */
export function closestMatch(value: string, candidates: readonly string[], maxDistance = 3): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (distance <= maxDistance && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** `is not an AWS region. Did you mean "us-east-1"?` — the tail of a region message. */
export function describeUnknownRegion(region: string): string {
  const suggestion = closestMatch(region, awsRegions);
  return suggestion
    ? `is not an AWS region. Did you mean "${suggestion}"?`
    : 'is not an AWS region (commercial, GovCloud or China). Use a region name such as "us-east-1"; see src/definition/aws-regions.ts for the list.';
}
