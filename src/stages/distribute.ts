/**
 * Distribute: give another account its own copy of a published version in one region (`distribution.accounts`).
 * The copy is made as the account's role, so the account owns it and keeps it whatever happens to the building
 * account's AMI. A copy carries none of its source's tags: they are put on it again, with where it came from
 * (`gild:source-ami`, `gild:source-account`), which is also how the next run's plan recognises it.
 *
 * How the copy is made is the target profile's answer (`accountCopy`): on the emulator profile the CopyImage call
 * alone is stood in for by a RegisterImage in the target account: sharing, finding, tagging and publishing are what
 * runs on AWS.
 */
import { clientsInAccount, type AwsClients } from '../adapters/aws-clients.ts';
import { copyImageIntoAccount, describeImages, withdrawShareFromAccount } from '../adapters/ec2.ts';
import { sessionNameFor, type AccountClients } from '../adapters/sts.ts';
import { StepFailure, type StepRun, type StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { prefixTag } from '../plan/prefix-tag.ts';

/** Tags that describe the source's life in the building account, not the copy's. */
const sourceOnlyTags = new Set(['gild:status', 'gild:published-at', 'gild:tested-at', 'gild:keep-reason', 'gild:failure']);

export const distributeStage: StepStage<'distribute'> = {
  kind: 'distribute',
  title: (step) => `copy ${step.image} ${step.version} into account ${step.account} in ${step.region}`,
  async check(context, step, run) {
    const sourceAmiId = sourceAmiOf(step, run);
    const [source] = await describeImages(context.clients.ec2(step.region), { imageIds: [sourceAmiId] });
    return source?.state === 'available' ? false : `the source ${sourceAmiId} in ${step.region} is ${source?.state ?? 'gone'}`;
  },
  async run(context, step, run) {
    const sourceAmiId = sourceAmiOf(step, run);
    const target = accountClientsFor(context, step);
    await target.confirmAccess();
    const ec2 = target.ec2(step.region);
    // The copy this version's plan did not see (made since, or still pending then) is the one to finish.
    const found = await describeImages(ec2, {
      owners: ['self'],
      filters: [
        { Name: 'tag:gild:source-ami', Values: [sourceAmiId] },
        { Name: 'tag:gild:image', Values: [step.image] },
      ],
      includeDeprecated: true,
    });
    const existing = found.find((ami) => ami.state === 'available');
    // NOTE: `gild verify` holds the source to exactly the launch permissions the definition gives.
    const keepSharing = run.image?.launchPermissions.kind === 'public' || (run.image?.launchPermissions.kind === 'explicit' && run.image.launchPermissions.accounts.includes(step.account));
    if (existing?.state === 'available') {
      // A run that stopped after tagging the copy may have left the temporary share behind.
      if (!keepSharing) await withdrawShareFromAccount(context.clients.ec2(step.region), sourceAmiId, step.account);
      run.logger.info(`account ${step.account} already has ${existing.amiId}, its copy of ${sourceAmiId} in ${step.region}`);
      return { account: step.account, region: step.region, amiId: existing.amiId };
    }
    const [source] = await describeImages(context.clients.ec2(step.region), { imageIds: [sourceAmiId] });
    if (!source) throw new StepFailure(`the source ${sourceAmiId} no longer exists in ${step.region}`);
    const sourceTags = Object.fromEntries(Object.entries(source.tags).filter(([key]) => !sourceOnlyTags.has(key)));
    const accountCopy = context.target.accountCopy;
    if (accountCopy.note) run.logger.info(accountCopy.note(step.account));
    const copy = await copyImageIntoAccount({
      source: { ec2: context.clients.ec2(step.region), region: step.region, amiId: sourceAmiId },
      target: { account: step.account, ec2, singleAttemptEc2: target.ec2SingleAttempt(step.region) },
      kmsKeyId: step.kmsKeyId,
      // NOTE: gild:source-ami is what finds this copy again (the plan, a rerun, retirement); it must be on every copy.
      tags: {
        ...sourceTags,
        'gild:version': step.version,
        'gild:image': step.image,
        'gild:source-ami': sourceAmiId,
        'gild:source-account': source.ownerId ?? 'unknown',
        'gild:status': 'copied',
        'gild:copied-at': context.now().toISOString(),
        // The account's copy belongs to the pipeline that made it (another pipeline there leaves it alone).
        ...prefixTag(context.settings.ssmPrefix),
      },
      keepSharing,
      method: accountCopy.method,
      signal: run.signal,
      ...(accountCopy.pollMs ? { pollMs: accountCopy.pollMs } : {}),
    });
    const how = copy.outcome === 'found' ? 'finished the copy an earlier attempt made' : 'copied';
    run.logger.info(`${how}: ${sourceAmiId} → ${copy.amiId} in account ${step.account} (${step.region})`);
    run.summary.push(`account ${step.account}: ${step.region} ${copy.amiId} (copy of ${sourceAmiId})`);
    return { account: step.account, region: step.region, amiId: copy.amiId };
  },
};

function sourceAmiOf(step: StepOfKind<'distribute'>, run: StepRun): string {
  if ('amiId' in step.source) return step.source.amiId;
  const published = run.output(step.source.from, 'publish');
  const amiId = published?.amis[step.region];
  if (!amiId) throw new StepFailure(`${step.source.from} published no AMI in ${step.region} to copy into account ${step.account}`);
  return amiId;
}

/** The account's clients, one assumed-role session per account and run. */
export function accountClientsFor(context: Context, step: { readonly account: string; readonly roleArn: string }): AccountClients {
  return clientsInAccount(context.clients, context.env, { account: step.account, roleArn: step.roleArn }, sessionNameFor(context.runId));
}

/** The account's clients in the shape stages take, so that a stage written for the building account works there. */
export function asAwsClients(context: Context, target: AccountClients): AwsClients {
  return {
    ec2: (region) => target.ec2(region),
    ssm: (region) => target.ssm(region),
    autoscaling: (region) => target.autoscaling(region),
    ec2Endpoint: context.clients.ec2Endpoint,
    defaultRegion: context.clients.defaultRegion,
    // The account's clients belong to the run's (see clientsInAccount); they are destroyed with them.
    destroy() {},
  };
}

/** The copies a step works on, per region: known in the plan, or the output of the distribute step that made them. */
export function copiesOf(copies: Readonly<Record<string, { readonly from: string } | { readonly amiId: string }>>, run: StepRun): Record<string, string> {
  const amis: Record<string, string> = {};
  for (const [region, copy] of Object.entries(copies)) {
    const amiId = 'amiId' in copy ? copy.amiId : run.output(copy.from, 'distribute')?.amiId;
    if (!amiId) throw new StepFailure(`the copy in ${region} is not known to this process`, ['apply the plan for this image in one process: its distribute and account steps run together']);
    amis[region] = amiId;
  }
  return amis;
}
