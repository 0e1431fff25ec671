/**
 * For `gild test` (and anyone diffing a twin against what is live): the package manifest of the image's published
 * version, from the SBOM its run stored in the evidence bucket (settings `evidence`), so that the developer's loop
 * diffs against what consumers run, not only against whatever this machine happens to keep. The published version is
 * the one `latest` names in the image's build region. Only when settings name a bucket; and since `gild test` needs
 * no AWS account, what cannot be read (no credentials, no SBOM stored) is said, never an error.
 */
import { createAwsClients } from '../adapters/aws-clients.ts';
import { listParametersUnder } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError } from '../errors.ts';
import { imageParameterPath, latestParameterName, versionFromParameterName } from '../plan/parameter-names.ts';
import { readStoredManifest, sbomKey } from '../smoke/evidence-store.ts';

export type PublishedManifest = { readonly version: string; readonly text: string; readonly from: string } | { readonly unavailable: string };

export async function readPublishedManifest(context: Pick<Context, 'env' | 'settings'>, image: Pick<ResolvedImage, 'name' | 'buildRegion'>): Promise<PublishedManifest | undefined> {
  const evidence = context.settings.evidence;
  if (!evidence) return undefined;
  const clients = createAwsClients(context.env);
  try {
    const prefix = context.settings.ssmPrefix;
    const parameters = await listParametersUnder(clients.ssm(image.buildRegion), imageParameterPath(prefix, image.name));
    const latest = parameters.find((parameter) => parameter.name === latestParameterName(prefix, image.name))?.value;
    const version =
      latest === undefined
        ? undefined
        : parameters.map((parameter) => (parameter.value === latest ? versionFromParameterName(prefix, image.name, parameter.name) : undefined)).find((named) => named !== undefined);
    if (version === undefined) return { unavailable: `no version of ${image.name} is published in ${image.buildRegion}` };
    const text = await readStoredManifest(context, image.buildRegion, image.name, version);
    const from = `s3://${evidence.bucket}/${sbomKey(evidence.prefix, image.name, version)}`;
    return text === undefined ? { unavailable: `the published ${version} has no SBOM at ${from}` } : { version, text, from };
  } catch (error) {
    return { unavailable: `the evidence bucket could not be read: ${describeAwsError(error)}` };
  } finally {
    clients.destroy();
  }
}
