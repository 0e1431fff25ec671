/**
 * `gild history <image> [--json]`: every version ever published, from AWS
 * alone (AMI tags and parameter history), so it works on any machine. Where
 * settings name an evidence bucket, each version's stored evidence too: the
 * link to its SBOM, its package count, the run that stored it, and the smoke
 * verdict the SBOM stands for (only a version that passed its smoke test has
 * one stored), which outlives the AMI and its tags.
 */
import { getParameterHistory } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { assembleHistory, formatHistory, type PointerHistory } from '../plan/assemble-history.ts';
import { imageState } from '../plan/image-state.ts';
import { imageParameterPath, latestParameterName } from '../plan/parameter-names.ts';
import { describeAwsError } from '../errors.ts';

export async function historyCommand(context: Context, image: ResolvedImage, options: { json: boolean }, io: { stdout: (text: string) => void }): Promise<number> {
  const inventory = await observeInventory(context, [image], { baseOverrides: context.options.baseOverrides, retentionRules: false });
  const state = imageState(inventory, image.name, image.regions);
  const path = `${imageParameterPath(context.settings.ssmPrefix, image.name)}/`;
  const current: Record<string, Record<string, string>> = {};
  const names: { region: string; name: string }[] = [];
  for (const region of image.regions) {
    const relative: Record<string, string> = {};
    for (const [name, amiId] of Object.entries(state.pointers[region] ?? {})) relative[name.slice(path.length)] = amiId;
    for (const published of state.versions) if (published.amis[region]) relative[`versions/${published.version}`] = published.amis[region]!;
    current[region] = relative;
    // `latest` is read even when it is gone now: its history is the record of every publish.
    for (const name of new Set([latestParameterName(context.settings.ssmPrefix, image.name), ...Object.keys(relative).map((pointer) => `${path}${pointer}`)])) names.push({ region, name });
  }
  const histories: PointerHistory[] = await Promise.all(
    names.map(async ({ region, name }) => ({ region, pointer: name.slice(path.length), entries: await getParameterHistory(context.clients.ssm(region), name) })),
  );
  const assembled = assembleHistory({ image: image.name, amis: state.amis, current, histories, revocations: state.ledger.revoked });
  const evidence = await readVersionEvidence(
    context,
    image,
    assembled.map((version) => version.version),
  );
  const versions = assembled.map((version) => {
    const stored = evidence?.get(version.version);
    // NOTE: only a passing version's SBOM is stored: one in the bucket is its smoke verdict when the AMI's tags are gone.
    return stored ? { ...version, smoke: stored.sbom ? 'passed' : version.smoke, evidence: stored } : version;
  });
  io.stdout(options.json ? `${JSON.stringify({ image: image.name, versions }, null, 2)}\n` : `${formatHistory(image.name, versions)}${formatEvidence(context, versions)}\n`);
  return 0;
}

export type VersionEvidence =
  { readonly sbom: string; readonly packages: number; readonly runId: string | undefined; readonly amiId: string | undefined } | { readonly sbom: undefined; readonly reason: string };

/** The newest versions whose evidence is read (one GetObject each): enough for a history a person reads. */
const evidenceVersionLimit = 50;

/** Each version's evidence in the bucket, or undefined when settings name none. What cannot be read is said per version. */
async function readVersionEvidence(context: Context, image: ResolvedImage, versions: readonly string[]): Promise<Map<string, VersionEvidence> | undefined> {
  const evidence = context.settings.evidence;
  if (!evidence) return undefined;
  const [{ createS3Client, getObjectText }, { sbomKey }] = await Promise.all([import('../adapters/s3.ts'), import('../smoke/evidence-store.ts')]);
  const s3 = createS3Client(evidence.region ?? image.buildRegion, context.env);
  try {
    const read = versions.slice(0, evidenceVersionLimit).map(async (version): Promise<[string, VersionEvidence]> => {
      const key = sbomKey(evidence.prefix, image.name, version);
      const url = `s3://${evidence.bucket}/${key}`;
      try {
        const text = await getObjectText(s3, evidence.bucket, key);
        if (text === undefined) return [version, { sbom: undefined, reason: `no SBOM stored at ${url}` }];
        const sbom = JSON.parse(text) as { components?: unknown[]; metadata?: { properties?: { name?: string; value?: string }[] } };
        const property = (name: string) => sbom.metadata?.properties?.find((entry) => entry.name === name)?.value;
        return [version, { sbom: url, packages: Array.isArray(sbom.components) ? sbom.components.length : 0, runId: property('gild:run-id'), amiId: property('gild:ami-id') }];
      } catch (error) {
        return [version, { sbom: undefined, reason: `${url} could not be read: ${error instanceof SyntaxError ? 'it is not JSON' : describeAwsError(error)}` }];
      }
    });
    return new Map(await Promise.all(read));
  } finally {
    s3.destroy();
  }
}

function formatEvidence(context: Context, versions: readonly { readonly version: string; readonly evidence?: VersionEvidence }[]): string {
  const evidence = context.settings.evidence;
  if (!evidence || versions.length === 0) return '';
  const lines = [`\nEvidence (s3://${evidence.bucket}/${evidence.prefix}/):`];
  for (const { version, evidence: stored } of versions) {
    if (!stored) lines.push(`  ${version}  not read (only the newest ${evidenceVersionLimit} versions are)`);
    else if (stored.sbom !== undefined) lines.push(`  ${version}  smoke passed; SBOM ${stored.sbom} (${stored.packages} packages, run ${stored.runId ?? '?'}, ${stored.amiId ?? '?'})`);
    else lines.push(`  ${version}  ${stored.reason}`);
  }
  return lines.join('\n');
}
