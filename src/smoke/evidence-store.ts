/**
 * The evidence bucket (settings `evidence.bucket`): each version's SBOM at `<prefix>/<image>/<version>/sbom.cdx.json`,
 * so that the next run, on any machine, diffs its packages against the version before it.
 */
import type { Context } from '../context.ts';
import { manifestFromSbom } from './cyclonedx-sbom.ts';

export const sbomKey = (prefix: string, image: string, version: string) => `${prefix}/${image}/${version}/sbom.cdx.json`;

type EvidenceSettings = NonNullable<Context['settings']['evidence']>;

/** The S3 adapter loads only when a bucket is named (the SDK's S3 client is large). */
async function clientFor(context: Pick<Context, 'settings' | 'env'>, evidence: EvidenceSettings, buildRegion: string) {
  const { createS3Client } = await import('../adapters/s3.ts');
  return createS3Client(evidence.region ?? buildRegion, context.env);
}

export async function storeSbom(context: Context, buildRegion: string, image: string, version: string, sbomJson: string): Promise<string | undefined> {
  const evidence = context.settings.evidence;
  if (!evidence) return undefined;
  const { putObject } = await import('../adapters/s3.ts');
  const s3 = await clientFor(context, evidence, buildRegion);
  try {
    const key = sbomKey(evidence.prefix, image, version);
    await putObject(s3, evidence.bucket, key, sbomJson, 'application/vnd.cyclonedx+json');
    return `s3://${evidence.bucket}/${key}`;
  } finally {
    s3.destroy();
  }
}

/** The manifest of `version` from its stored SBOM, or undefined when none is stored. */
export async function readStoredManifest(context: Pick<Context, 'settings' | 'env'>, buildRegion: string, image: string, version: string): Promise<string | undefined> {
  const evidence = context.settings.evidence;
  if (!evidence) return undefined;
  const { getObjectText } = await import('../adapters/s3.ts');
  const s3 = await clientFor(context, evidence, buildRegion);
  try {
    const text = await getObjectText(s3, evidence.bucket, sbomKey(evidence.prefix, image, version));
    return text === undefined ? undefined : manifestFromSbom(JSON.parse(text));
  } finally {
    s3.destroy();
  }
}
