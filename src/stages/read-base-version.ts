/**
 * What AWS says now about one published version of a base image in one region: `versions/<v>`, `status/<v>` (one
 * GetParameters call) and, when the parameter names an AMI, that AMI's gild tags. Read by the build of an image on a
 * base another process published, and by a CI job waiting for that base (src/apply/wait-for-publication.ts).
 */
import { describeImages } from '../adapters/ec2.ts';
import { getParameters } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import { statusParameterName, versionParameterName } from '../plan/parameter-names.ts';
import type { BaseVersionEvidence } from '../plan/trust-base-version.ts';

export async function readBaseVersion(context: Pick<Context, 'clients'>, prefix: string, region: string, image: string, version: string): Promise<BaseVersionEvidence> {
  const parameterName = versionParameterName(prefix, image, version);
  const statusName = statusParameterName(prefix, image, version);
  const parameters = await getParameters(context.clients.ssm(region), [parameterName, statusName]);
  const amiId = parameters.find((parameter) => parameter.name === parameterName)?.value;
  const status = parameters.find((parameter) => parameter.name === statusName)?.value;
  const [ami] = amiId === undefined ? [] : await describeImages(context.clients.ec2(region), { imageIds: [amiId] });
  return { image, version, region, parameterName, amiId, status, amiTags: ami?.tags };
}
