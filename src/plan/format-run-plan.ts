/** The plan as a person reads it: per image, what happens and why, then every step with its reason. */
import { packerExitIdOf } from './plan-packer-exit.ts';
import type { PlanStep, RunPlan } from './run-plan.ts';

const describeStep = (step: PlanStep): string => {
  switch (step.kind) {
    case 'sweep':
      return `sweep ${step.account ? `account ${step.account.account} (as ${step.account.roleArn}) ` : ''}${step.region} ${step.resource.kind} ${step.resource.kind === 'instance' || step.resource.kind === 'takeover-claim' ? step.resource.id : `${step.resource.name} (${step.resource.id})`}`;
    case 'unlock':
      return `unlock ${step.parameterName} (${step.lease ? `${step.breakReason === undefined ? 'stale ' : ''}lease of run ${step.lease.runId}` : 'not a gild lease'})`;
    case 'lock':
      return `lock ${step.parameterName}`;
    case 'release':
      return `release ${step.parameterName}`;
    case 'cleanup':
      return step.amiId
        ? `clean up ${step.region} ${step.amiId}${step.snapshotIds.length ? ` + ${step.snapshotIds.join(', ')}` : ''}`
        : `delete ${step.region} snapshots ${step.snapshotIds.join(', ')}`;
    case 'build':
      return `build ${step.version} in ${step.regions.join(', ')} from ${step.base.kind === 'ami' ? `${step.base.amiId} (${step.base.source})` : `${step.base.image} ${step.base.version}, known after ${step.base.from}`}`;
    case 'copy':
      return `copy ${step.version} from ${step.sourceRegion} to ${step.region}${step.kmsKeyId ? ` (encrypted with ${step.kmsKeyId})` : ''}, beside the smoke test; cancelled and removed if the smoke test fails${step.besideBuild ? ' or Packer fails after its AMI' : ''}`;
    case 'packer-exit':
      return `wait for Packer to exit well (its cleanup and post-processors), else mark ${step.version} failed`;
    case 'resume':
      return `resume ${step.version} from run ${step.fromRunId}: ${Object.entries(step.amis)
        .map(([region, amiId]) => `${region} ${amiId}`)
        .join(', ')}`;
    case 'smoke':
      return `smoke test ${step.version}${step.region ? ` in ${step.region}, on its copy there` : ''}`;
    case 'discard': {
      const ami =
        'amis' in step.amis
          ? `${step.amis.amis[step.region] ?? 'the AMI'} in ${step.region}`
          : `the AMI ${step.amis.from} ${step.amis.from.startsWith('resume:') ? 'resumes' : 'makes'} in ${step.region}`;
      const when = step.after.includes(packerExitIdOf(step.image)) ? 'if the smoke test fails or Packer fails after its AMI' : 'if the smoke test fails';
      return step.onFailure === 'keep' ? `${when}: withdraw every grant on ${ami} and its snapshots, and keep it` : `${when}: remove ${ami} and its snapshots`;
    }
    case 'share': {
      const { accounts, groups, organizationArns, organizationalUnitArns } = step.launchPermissions;
      const shared = accounts.length + groups.length + organizationArns.length + organizationalUnitArns.length > 0;
      return shared ? `share ${step.version} in ${step.region}` : `describe ${step.version} in ${step.region}, private`;
    }
    case 'publish':
      return `publish ${step.version}: ${step.writes.map((write) => `${write.region} ${write.name}`).join(', ')}`;
    case 'repoint':
      return `move ${step.pointer} to ${step.version}: ${step.moves.map((move) => `${move.region} ${move.amiId}`).join(', ')}`;
    case 'revoke':
      return `revoke ${step.version} in ${step.region}: tag ${step.amiId} gild:status=revoked, deprecate${step.disable ? ', disable' : ''}`;
    case 'protect':
      return `protect ${step.version} in ${step.region}: enable deregistration protection on ${'amis' in step.amis ? step.amis.amis[step.region] : `the AMI of ${step.amis.from}`}`;
    case 'restore':
      return `restore ${step.version} in ${step.region}: ${step.ledger ? 'record the restore in the ledger, ' : ''}clear its status, re-enable ${step.amiId}, tag it gild:status=published`;
    case 'unbin':
      return `bring ${step.version} back from the Recycle Bin in ${step.region}: restore ${[...step.snapshotIds, step.amiId].join(', ')}, tag it gild:status=${step.status}, write ${step.parameterName}`;
    case 'mark-descendant':
      return `mark ${step.descendant.image} ${step.descendant.version} in ${step.region}: tag ${step.amiId} gild:base-revoked (built on the revoked ${step.image} ${step.version})`;
    case 'unmark-descendant':
      return `un-mark ${step.descendant.image} ${step.descendant.version} in ${step.region}: delete gild:base-revoked from ${step.amiId} (${step.image} ${step.version} is restored)`;
    case 'hold':
      return step.value === undefined ? `remove the hold ${step.parameterName}` : `hold ${step.parameterName}`;
    case 'distribute':
      return `copy ${step.version} into account ${step.account} in ${step.region} (as ${step.roleArn}${step.kmsKeyId ? `, encrypted with ${step.kmsKeyId}` : ''})`;
    case 'account-smoke':
      return `smoke test the copy of ${step.version} in account ${step.account} in ${(step.regions ?? [step.region]).join(', ')}`;
    case 'account-publish':
      return `publish ${step.version} in account ${step.account}: ${step.writes.map((write) => `${write.region} ${write.name}`).join(', ')}`;
    case 'account-revoke':
      return step.phase === 'record'
        ? `revoke the copy of ${step.version} in account ${step.account} in ${step.region}: tag ${step.amiId} gild:status=revoked, write status/${step.version} there`
        : `${step.disable ? 'deprecate and disable' : 'deprecate'} the revoked copy of ${step.version} in account ${step.account} in ${step.region}: ${step.amiId}`;
    case 'account-repoint':
      return `move ${step.pointer} in account ${step.account} to ${step.version}: ${step.moves.map((move) => `${move.region} ${move.amiId}`).join(', ')}`;
    case 'account-restore':
      return `restore the copy of ${step.version} in account ${step.account} in ${step.region}: clear its status, re-enable ${step.amiId}, tag it gild:status=published`;
    case 'retire-copy':
      if (step.phase) return `retire (${step.phase}) the copy of ${step.version} in account ${step.account} in ${step.region}: ${step.amiId}`;
      return `retire the copy of ${step.version} in account ${step.account} in ${step.region}: ${step.amiId}${step.parameterName ? `, ${step.parameterName}` : ''}${step.snapshotIds.length ? `, ${step.snapshotIds.join(', ')}` : ''}`;
    case 'notify':
    case 'notify-failure':
      return `${step.kind === 'notify-failure' ? 'if a step of it fails: ' : ''}notify ${step.target.kind === 'sns' ? step.target.topicArn : `EventBridge bus ${step.target.bus} in ${step.target.region}`} of gild.image.${step.event}${step.version ? ` ${step.version}` : ''}`;
    case 'retire':
      return `retire (${step.phase}${step.unprotect ? ', protection removed first' : ''}) ${step.version} in ${step.region}: ${step.amiId}${step.parameterName ? `, ${step.parameterName}` : ''}${step.snapshotIds.length ? `, ${step.snapshotIds.join(', ')}` : ''}`;
  }
};

export function formatRunPlan(plan: RunPlan): string {
  const lines: string[] = [];
  for (const decision of plan.images) {
    switch (decision.action) {
      case 'build':
        lines.push(`+ ${decision.image}: build ${decision.nextVersion}${decision.currentVersion ? ` (after ${decision.currentVersion})` : ''} — ${decision.reason}`);
        break;
      case 'resume':
        lines.push(`~ ${decision.image}: resume ${decision.nextVersion} from run ${decision.fromRunId} — ${decision.reason}`);
        break;
      case 'finish':
        lines.push(`~ ${decision.image}: finish publishing ${decision.version} — ${decision.reason}`);
        break;
      case 'unchanged':
        lines.push(`= ${decision.image}: unchanged at ${decision.currentVersion ?? '(none)'} — ${decision.reason}`);
        break;
      case 'change':
        lines.push(`~ ${decision.image}: ${decision.reason}`);
        break;
      case 'locked':
        lines.push(`# ${decision.image}: left alone — ${decision.reason}`);
        break;
      case 'error':
        lines.push(`! ${decision.image}: cannot build — ${decision.reason}`);
        break;
    }
    for (const step of plan.steps) if ('image' in step && step.image === decision.image && step.kind !== 'lock' && step.kind !== 'release') lines.push(`    ${describeStep(step)} — ${step.reason}`);
    for (const kept of plan.kept) if (kept.image === decision.image) lines.push(`    keep ${kept.version ?? ''} in ${kept.region} (${kept.amiId}) — ${kept.reason}`);
  }
  const sweeps = plan.steps.filter((step) => step.kind === 'sweep');
  if (sweeps.length > 0) {
    lines.push('Leftovers of runs that are gone:');
    for (const step of sweeps) lines.push(`    ${describeStep(step)} — ${step.reason}`);
  }
  return lines.join('\n');
}

export { describeStep };
