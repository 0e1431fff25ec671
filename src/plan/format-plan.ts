/** The plan as a human reads it: what happens to each image, and why. */
import type { RunPlan } from './types.ts';

export function formatPlan(plan: RunPlan): string {
  const lines: string[] = [];
  for (const image of plan.images) {
    if (image.action === 'skip') {
      lines.push(`= ${image.image}: unchanged at ${image.currentVersion ?? '(none)'} — ${image.reason}`);
      continue;
    }
    if (image.action === 'error') {
      lines.push(`! ${image.image}: cannot build — ${image.reason}`);
      continue;
    }
    lines.push(`+ ${image.image}: build ${image.nextVersion}${image.currentVersion ? ` (after ${image.currentVersion})` : ''} — ${image.reason}`);
    lines.push(`    base: ${image.base.kind === 'resolved' ? `${image.base.amiId} (${image.base.source})` : `${image.base.source}, resolved after "${image.base.image}" publishes`}`);
    for (const parameter of image.parameters) lines.push(`    write ${parameter.region} ${parameter.name}`);
    for (const retirement of image.retirements) {
      lines.push(
        retirement.action === 'retire'
          ? `    retire ${retirement.version} in ${retirement.region}: delete ${retirement.parameterName}, deregister ${retirement.amiId}${retirement.snapshotIds.length ? `, delete ${retirement.snapshotIds.join(', ')}` : ''} — ${retirement.reason}`
          : `    keep ${retirement.version} in ${retirement.region} (${retirement.amiId}) — ${retirement.reason}`,
      );
    }
  }
  return lines.join('\n');
}
