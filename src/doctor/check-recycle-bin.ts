/**
 * Whether the account keeps gild's deregistered AMIs (and their snapshots) in the Recycle Bin, per region: without an
 * `EC2_IMAGE` and an `EBS_SNAPSHOT` retention rule that keep them, a version retired by mistake is gone for good, and
 * `gild restore` cannot bring it back. A run does not need one, so a missing rule is advice, never a failure.
 */
import { readRetentionRules } from '../adapters/rbin.ts';
import { binVerdict, keptText } from '../plan/recycle-bin.ts';
import { advice, attempt, notChecked, passed, type DoctorCheck } from './doctor-check.ts';
import type { DoctorInput } from './doctor-input.ts';

const check = 'Recycle Bin keeps retired AMIs';

/** The rule a region would need, as the AWS CLI creates it (region-level; a tag-level rule on gild:image works too). */
const createRules = (region: string) =>
  `aws rbin create-rule --region ${region} --resource-type EC2_IMAGE --retention-period RetentionPeriodValue=30,RetentionPeriodUnit=DAYS --description "gild: retired AMIs" and the same with --resource-type EBS_SNAPSHOT (or tag-level rules with --resource-tags ResourceTagKey=gild:image)`;

export async function checkRecycleBin(input: DoctorInput): Promise<DoctorCheck[]> {
  if (input.capabilities.recycleBin !== true)
    return [notChecked(check, input.regions.join(', '), input.capabilities.recycleBin, 'run gild doctor against the real account to read its retention rules')];
  const lines = await Promise.all(
    input.regions.map((region) =>
      attempt(check, region, async () => {
        const rbin = input.rbin(region);
        const rules = await readRetentionRules(rbin);
        // An AMI is deregistered tagged as retirement leaves it: its image's tags, gild:image, gild:status=retiring.
        const verdicts = input.images
          .filter((image) => image.regions.includes(region))
          .map((image) => ({ image: image.name, verdict: binVerdict({ rules }, { ...image.tags, 'gild:image': image.name, 'gild:status': 'retiring' }) }));
        const kept = verdicts.flatMap(({ verdict }) => (verdict.kind === 'kept' ? [verdict] : []));
        if (kept.length === verdicts.length) {
          // The shortest keep of the region's images, said with the first image's rules.
          const days = Math.min(...kept.map((verdict) => verdict.days));
          return [passed(check, region, kept.length > 0 ? keptText(`kept at least ${days} days`, kept[0]!.rules) : 'no image is published here')];
        }
        const notKept = verdicts.filter(({ verdict }) => verdict.kind !== 'kept');
        return [advice(check, region, notKept.map(({ image, verdict }) => `${image}: ${verdict.text}`).join('; '), `to be able to bring back a version retired by mistake: ${createRules(region)}`)];
      }),
    ),
  );
  return lines.flat();
}
