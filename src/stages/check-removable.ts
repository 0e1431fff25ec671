/**
 * The last look before gild removes an AMI: right before the step, against
 * live state, because the plan may be minutes (or a saved file) old.
 */
import { describeImages } from '../adapters/ec2.ts';
import { observeReferences } from '../observe/observe-references.ts';
import { listParametersUnder } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import { imageParameterPath } from '../plan/parameter-names.ts';
import { anotherPipelinesAmi } from '../plan/prefix-tag.ts';

/**
 * `false` when the AMI may go now; otherwise why not. `ownParameter` is the one parameter the step itself removes.
 * `untaggedOk`: an AMI gild is about to tag as its own (recognised by name) may still lack `gild:image`.
 */
export async function whyNotRemovable(context: Context, region: string, imageName: string, amiId: string, ownParameter?: string, untaggedOk = false): Promise<false | string> {
  const ec2 = context.clients.ec2(region);
  const [ami] = await describeImages(ec2, { imageIds: [amiId] });
  if (!ami) return `${amiId} in ${region} no longer exists`;
  const tags = ami.tags;
  if (tags['gild:image'] !== imageName && !(untaggedOk && tags['gild:image'] === undefined)) return `${amiId} in ${region} is no longer tagged gild:image=${imageName}`;
  // NOTE: another pipeline's AMI (another SSM prefix, the same image name) is guarded by that pipeline's lock, which
  // this one cannot see: it is never this pipeline's to remove, whatever its status.
  const another = anotherPipelinesAmi(tags, context.settings.ssmPrefix, amiId, region);
  if (another) return another;
  if (tags['gild:retain']) return `${amiId} in ${region} is tagged gild:retain=${tags['gild:retain']}`;
  const parameters = await listParametersUnder(context.clients.ssm(region), imageParameterPath(context.settings.ssmPrefix, imageName));
  const naming = parameters.filter((parameter) => parameter.value === amiId && parameter.name !== ownParameter).map((parameter) => parameter.name);
  if (naming.length > 0) return `${naming.join(', ')} now name${naming.length === 1 ? 's' : ''} ${amiId}`;
  const users = (await observeReferences(context.clients, region, [amiId], { ssmPrefix: context.settings.ssmPrefix, capabilities: context.target.references }))[amiId] ?? [];
  if (users.length > 0) return `${amiId} is in use by ${users.join(', ')}`;
  return false;
}
