/**
 * The account-wide checks of `gild doctor`: who the credentials are, which
 * regions are enabled, Packer, the caller's policy as AWS evaluates it, the
 * distribution roles, the SSM prefix and the AMI block-public-access state.
 * Each returns lines; none writes anything.
 */
import { describeRegionOptIn, imageBlockPublicAccessState } from '../adapters/ec2-account.ts';
import { createIamClient, getRoleArn, simulatePrincipalPolicy } from '../adapters/iam.ts';
import { createKmsClient, type KMSClient } from '../adapters/kms.ts';
import { packerInstalledPlugins, packerVersion } from '../adapters/packer.ts';
import { listParametersUnder } from '../adapters/ssm.ts';
import { supportsRequiredPlugins } from '../render/packer-capabilities.ts';
import { createAccountClients, sessionNameFor, type CallerIdentity } from '../adapters/sts.ts';
import { generatePolicy, scopeFromProject } from '../iam/generate-policy.ts';
import { checkProfile } from './check-instances.ts';
import { usableKey } from './check-keys.ts';
import { attempt, failed, notChecked, passed, type DoctorCheck } from './doctor-check.ts';
import type { DoctorInput } from './doctor-input.ts';
import { principalOfCaller, simulationRequests } from './simulation-requests.ts';
import { escapeRegExp } from '../escape-regexp.ts';

export async function checkIdentity(input: DoctorInput, identity: CallerIdentity): Promise<DoctorCheck[]> {
  const expected = input.settings.accountId;
  if (expected && expected !== identity.account) {
    return [
      failed(
        'caller identity',
        identity.arn,
        `the credentials are for account ${identity.account}, but pipeline/settings.ts says accountId ${expected}`,
        `run with the nightly's credentials for account ${expected}, or correct accountId in pipeline/settings.ts`,
      ),
    ];
  }
  return [passed('caller identity', identity.arn, `account ${identity.account}`)];
}

/** Opt-in regions must be enabled before anything can be built or copied there. */
export async function checkRegions(input: DoctorInput): Promise<DoctorCheck[]> {
  return attempt('region enabled', input.regions.join(', '), async () => {
    const optIn = await describeRegionOptIn(input.ec2(input.homeRegion));
    return input.regions.map((region) => {
      const status = optIn[region];
      if (status === 'opt-in-not-required' || status === 'opted-in') return passed('region enabled', region, status);
      if (status === undefined)
        return failed('region enabled', region, 'the account does not know this region (another partition?)', `remove ${region} from the images' regions, or run in the partition that has it`);
      return failed(
        'region enabled',
        region,
        `opt-in status ${status}: the region is not enabled for this account`,
        `enable it: aws account enable-region --region-name ${region} (or the AWS console: Account → AWS Regions), then wait until its status is ENABLED`,
      );
    });
  });
}

/**
 * Packer 1.6 bundles the amazon builder. From 1.7 gild renders `required_plugins` (packer-capabilities.ts) and each
 * build runs `packer init`, which installs the plugin when it is missing; `packer plugins installed` (1.8+) says if it is.
 */
export async function checkPacker(): Promise<DoctorCheck[]> {
  let version;
  try {
    version = await packerVersion();
  } catch (error) {
    return [
      failed(
        'Packer',
        'packer',
        `not found or not runnable: ${error instanceof Error ? error.message : String(error)}`,
        'install Packer (https://developer.hashicorp.com/packer/install) on the machine the nightly runs on, on its PATH',
      ),
    ];
  }
  if (!supportsRequiredPlugins(version)) return [passed('Packer', version.raw, 'the amazon builder is bundled')];
  const plugins = await packerInstalledPlugins().catch(() => undefined);
  const amazon = plugins?.find((plugin) => plugin.includes('github.com/hashicorp/amazon'));
  if (amazon) return [passed('Packer', version.raw, `amazon plugin installed: ${amazon.split('/').pop()}`)];
  return [passed('Packer', version.raw, 'the amazon plugin is not installed yet: each build runs `packer init`, which installs it (needs access to github.com)')];
}

/**
 * AWS evaluates the caller's own policies (iam:SimulatePrincipalPolicy) against every action, resource and tag
 * condition of the policy gild generates for this project: the questions come from its statements, one line each.
 */
export async function checkPolicy(input: DoctorInput, identity: CallerIdentity): Promise<DoctorCheck[]> {
  const check = 'IAM policy (simulated by AWS)';
  if (input.capabilities.policySimulation !== true)
    return [notChecked(check, identity.arn, input.capabilities.policySimulation, 'run gild doctor against the real account to have AWS evaluate the policy')];
  const principal = principalOfCaller(identity.arn);
  if (principal.kind === 'root') return [passed(check, identity.arn, 'the root user may do everything (run the nightly as a role with `gild iam-policy` instead)')];
  return attempt(check, principal.arn, async () => {
    // NOTE: an assumed-role ARN has lost the role's path; IAM knows the role's full ARN. A caller that may not read
    // its own role is asked about as the ARN without a path, which is right for most roles.
    const principalArn = principal.kind === 'role' ? ((await getRoleArn(input.iam, principal.roleName).catch(() => undefined)) ?? principal.arn) : principal.arn;
    const scope = { ...scopeFromProject(input.settings, input.images), accountId: identity.account };
    const requests = simulationRequests(generatePolicy(scope), input.regions, identity);
    const denied = new Map<string, string[]>();
    const allowedCount = new Map<string, number>();
    for (const request of requests) {
      const decisions = await simulatePrincipalPolicy(input.iam, { principalArn, actions: request.actions, resources: request.resources, context: request.context });
      for (const decision of decisions) {
        if (decision.decision === 'allowed') {
          allowedCount.set(request.sid, (allowedCount.get(request.sid) ?? 0) + 1);
          continue;
        }
        const missing = decision.missingContext.length > 0 ? `, missing context ${decision.missingContext.join(', ')}` : '';
        const where = request.region ? ` in ${request.region}` : '';
        denied.set(request.sid, [...(denied.get(request.sid) ?? []), `${decision.action} on ${decision.resource}${where} (${decision.decision}${missing})`]);
      }
    }
    const sids = [...new Set(requests.map((request) => request.sid))];
    return sids.map((sid) => {
      const refusals = denied.get(sid);
      if (!refusals) return passed(check, sid, `${allowedCount.get(sid) ?? 0} action and resource pairs allowed`);
      const shown = refusals.slice(0, 3).join('; ') + (refusals.length > 3 ? `; and ${refusals.length - 3} more` : '');
      return failed(check, sid, `denied: ${shown}`, `give ${principalArn} statement ${sid} of \`gild iam-policy\` (attach \`gild iam-policy --json\` to it), or the same grants in its own policy`);
    });
  });
}

/**
 * gild assumes each distribution role to copy and publish in that account; through it, the key the copies are
 * encrypted with there and the instance profile their smoke test launches with are read too.
 */
export async function checkDistributionRoles(input: DoctorInput, identity: CallerIdentity): Promise<DoctorCheck[]> {
  const roles = new Map<string, { account: string; keys: Set<string>; profiles: Set<string> }>();
  for (const target of input.images.flatMap((image) => image.distribution)) {
    const role = roles.get(target.roleArn) ?? { account: target.account, keys: new Set<string>(), profiles: new Set<string>() };
    if (target.kmsKeyId) for (const region of target.regions) role.keys.add(`${region} ${target.kmsKeyId}`);
    if (typeof target.smoke === 'object' && target.smoke.instanceProfile) role.profiles.add(target.smoke.instanceProfile);
    roles.set(target.roleArn, role);
  }
  const lines = await Promise.all(
    [...roles].map(async ([roleArn, { account, keys, profiles }]) => {
      const clients = createAccountClients(input.env, { account, roleArn, sessionName: sessionNameFor(`doctor-${input.runId}`), region: input.homeRegion });
      try {
        await clients.confirmAccess();
      } catch (error) {
        clients.destroy();
        const cause = (error as { cause?: unknown }).cause;
        const reason = cause instanceof Error ? cause.message : String(cause ?? error);
        const caller = principalOfCaller(identity.arn).arn;
        return [
          failed(
            'distribution role assumable',
            roleArn,
            `sts:AssumeRole refused: ${reason}`,
            `in account ${account}, let ${caller} assume the role (its trust policy), and grant sts:AssumeRole on ${roleArn} (statement AssumeDistributionRoles of \`gild iam-policy\`)`,
          ),
        ];
      }
      const iam = createIamClient(input.env, clients.credentials);
      const kmsClients: KMSClient[] = [];
      try {
        const keyLines = [...keys].map((entry) => {
          const [region, key] = entry.split(' ') as [string, string];
          const subject = `${key} in ${region} (account ${account})`;
          const kms = createKmsClient(region, input.env, clients.credentials);
          kmsClients.push(kms);
          return attempt('KMS key usable for EBS', subject, async () => (await usableKey(kms, 'KMS key usable for EBS', subject, key, region)).lines);
        });
        const profileLines = [...profiles].map((profile) => checkProfile(iam, 'smoke instance profile', `${profile} (account ${account})`, profile));
        return [passed('distribution role assumable', roleArn, `account ${account}`), ...(await Promise.all([...keyLines, ...profileLines])).flat()];
      } finally {
        iam.destroy();
        for (const kms of kmsClients) kms.destroy();
        clients.destroy();
      }
    }),
  );
  return lines.flat();
}

/** The names gild writes under the prefix (src/plan/parameter-names.ts): pointers, versions, channels, holds, locks, the ledger, version status. */
const gildParameterName = (prefix: string) => new RegExp(`^${escapeRegExp(prefix)}/[^/]+/(?:latest|lock|v\\d+|versions/\\d+\\.\\d+\\.\\d+|status/\\d+\\.\\d+\\.\\d+|ledger|channels/[^/]+|holds/.+)$`);

/** Nothing but gild writes under the prefix: another writer's parameter would be overwritten, published or retired. */
export async function checkSsmPrefix(input: DoctorInput): Promise<DoctorCheck[]> {
  const prefix = input.settings.ssmPrefix;
  const gildName = gildParameterName(prefix);
  const lines = await Promise.all(
    input.regions.map((region) =>
      attempt("SSM prefix only gild's", `${prefix} in ${region}`, async () => {
        const foreign = (await listParametersUnder(input.ssm(region), prefix)).map((parameter) => parameter.name).filter((name) => !gildName.test(name));
        if (foreign.length === 0) return [passed("SSM prefix only gild's", `${prefix} in ${region}`, 'no parameter gild would not write (judged by name)')];
        const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
        return [
          failed(
            "SSM prefix only gild's",
            `${prefix} in ${region}`,
            `parameters gild did not write: ${shown}`,
            `move them out of ${prefix}, or set ssmPrefix in pipeline/settings.ts to a path only gild writes`,
          ),
        ];
      }),
    ),
  );
  return lines.flat();
}

/** A region that blocks public sharing refuses to make an image public; private sharing is never blocked. */
export async function checkImageBlockPublicAccess(input: DoctorInput): Promise<DoctorCheck[]> {
  const check = 'AMI block public access';
  if (input.capabilities.imageBlockPublicAccess !== true)
    return [notChecked(check, input.regions.join(', '), input.capabilities.imageBlockPublicAccess, 'run gild doctor against the real account to read it')];
  const lines = await Promise.all(
    input.regions.map((region) =>
      attempt(check, region, async () => {
        const state = await imageBlockPublicAccessState(input.ec2(region));
        const publicImages = input.images.filter((image) => image.launchPermissions.kind === 'public' && image.regions.includes(region)).map((image) => image.name);
        if (state === 'block-new-sharing' && publicImages.length > 0) {
          return [
            failed(
              check,
              region,
              `${state}, but ${publicImages.join(', ')} ${publicImages.length === 1 ? 'is' : 'are'} public (launchPermissions)`,
              `unblock it (aws ec2 disable-image-block-public-access --region ${region}), or make the images private in their launchPermissions`,
            ),
          ];
        }
        return [passed(check, region, publicImages.length > 0 ? `${state}: public images can be shared` : `${state}; no image here is public`)];
      }),
    ),
  );
  return lines.flat();
}
