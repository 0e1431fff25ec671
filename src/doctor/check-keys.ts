/**
 * The KMS keys images are encrypted with: in each region the key is used in it
 * exists, is enabled and is a symmetric encrypt/decrypt key (all EBS takes), and
 * where an image is copied into distribution accounts, its key lets those
 * accounts use it (key policy or grants): otherwise their copies fail.
 */
import { describeKey, getKeyPolicy, listGrantees, type KeySummary, type KMSClient } from '../adapters/kms.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { attempt, failed, passed, type DoctorCheck } from './doctor-check.ts';
import type { DoctorInput } from './doctor-input.ts';

/** The keys an image uses in each of its regions (the encryption key per region, and block devices' keys in the build region). */
export function keysByRegion(image: ResolvedImage): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  const add = (region: string, key: string | undefined) => key && keys.set(region, (keys.get(region) ?? new Set()).add(key));
  for (const region of image.regions) add(region, image.encryption ? (image.encryption.regionKmsKeyIds[region] ?? (region === image.buildRegion ? image.encryption.kmsKeyId : undefined)) : undefined);
  for (const device of [...image.launchBlockDevices, ...image.amiBlockDevices]) add(image.buildRegion, device.kmsKeyId);
  return keys;
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** Whether a key policy or a grant names the account (its root, a principal in it, or everyone). */
export function keyAllowsAccount(policy: unknown, grantees: readonly { readonly principal: string }[], account: string): boolean {
  const names = (principal: unknown) => principal === '*' || principal === account || (typeof principal === 'string' && principal.includes(`:${account}:`));
  for (const statement of asList((policy as { Statement?: unknown } | undefined)?.Statement)) {
    const { Effect, Principal } = statement as { Effect?: unknown; Principal?: unknown };
    if (Effect !== 'Allow') continue;
    if (Principal === '*' || asList((Principal as { AWS?: unknown } | undefined)?.AWS).some(names)) return true;
  }
  return grantees.some((grantee) => names(grantee.principal));
}

/** Whether `keyName` names a key in the region EBS can encrypt with: its lines, and the key when it can. */
export async function usableKey(kms: KMSClient, check: string, subject: string, keyName: string, region: string): Promise<{ readonly key?: KeySummary; readonly lines: DoctorCheck[] }> {
  const key = await describeKey(kms, keyName);
  if (!key)
    return {
      lines: [failed(check, subject, `no key ${keyName} in ${region}`, `create the key (or alias) in ${region}, or name an existing one in the image's encryption (regionKmsKeyIds.${region})`)],
    };
  if (!key.enabled || key.keyState !== 'Enabled') {
    const fix =
      key.keyState === 'PendingDeletion'
        ? `cancel its deletion: aws kms cancel-key-deletion --key-id ${key.arn} --region ${region}, then enable it`
        : `enable it: aws kms enable-key --key-id ${key.arn} --region ${region}`;
    return { lines: [failed(check, subject, `${key.arn} is ${key.keyState || 'disabled'}: EBS cannot encrypt with it`, fix)] };
  }
  if (key.keyUsage !== 'ENCRYPT_DECRYPT' || key.keySpec !== 'SYMMETRIC_DEFAULT')
    return {
      lines: [
        failed(
          check,
          subject,
          `${key.arn} is ${key.keySpec} for ${key.keyUsage}; EBS takes only symmetric ENCRYPT_DECRYPT keys`,
          'name a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) instead',
        ),
      ],
    };
  return { key, lines: [passed(check, subject, `${key.arn} enabled, ${key.keySpec}`)] };
}

export async function checkKeys(input: DoctorInput): Promise<DoctorCheck[]> {
  const check = 'KMS key usable for EBS';
  const uses = new Map<string, { region: string; key: string; images: Set<string>; accounts: Set<string> }>();
  for (const image of input.images) {
    for (const [region, keys] of keysByRegion(image)) {
      for (const key of keys) {
        const use = uses.get(`${region} ${key}`) ?? { region, key, images: new Set<string>(), accounts: new Set<string>() };
        use.images.add(image.name);
        for (const target of image.distribution) if (target.regions.includes(region)) use.accounts.add(target.account);
        uses.set(`${region} ${key}`, use);
      }
    }
  }
  const lines = await Promise.all(
    [...uses.values()].map((use) => {
      const subject = `${use.key} in ${use.region} (${[...use.images].join(', ')})`;
      return attempt(check, subject, async () => {
        const kms = input.kms(use.region);
        const usable = await usableKey(kms, check, subject, use.key, use.region);
        if (!usable.key) return usable.lines;
        const key = usable.key;
        const lines = [...usable.lines];
        if (use.accounts.size > 0) {
          const [policy, grantees] = await Promise.all([getKeyPolicy(kms, key.arn), listGrantees(kms, key.arn)]);
          for (const account of use.accounts) {
            lines.push(
              keyAllowsAccount(policy, grantees, account)
                ? passed('KMS key shared with distribution account', `${key.arn} → ${account}`, 'its key policy or a grant names the account')
                : failed(
                    'KMS key shared with distribution account',
                    `${key.arn} → ${account}`,
                    `neither the key policy nor a grant lets account ${account} use the key, so copying the AMI there fails`,
                    `add arn:aws:iam::${account}:root to the key policy with kms:Decrypt, kms:DescribeKey, kms:CreateGrant and kms:ReEncrypt*`,
                  ),
            );
          }
        }
        return lines;
      });
    }),
  );
  return lines.flat();
}
