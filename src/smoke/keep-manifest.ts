/**
 * Keeps a listed package manifest as evidence: the text and a CycloneDX SBOM beside the run report, the diff against
 * the previous version in the summary, and (unless the image failed) the manifest as the next version's baseline and
 * the SBOM in the evidence bucket. An image whose smoke test was skipped is kept the same way: its manifest says what
 * it is made of whether or not a check ran; only the `tested` tag says a check passed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from '../context.ts';
import { describeAwsError } from '../errors.ts';
import type { ImageRun } from '../stages/stage.ts';
import { cycloneDxSbom } from './cyclonedx-sbom.ts';
import { describeManifestDiff, diffManifests } from './diff-manifests.ts';
import { readStoredManifest, storeSbom } from './evidence-store.ts';
import { readPreviousManifest, writeManifest } from './package-manifest.ts';
import type { SmokeReport } from './write-smoke-report.ts';

export interface KeepManifest {
  readonly context: Context;
  readonly run: ImageRun;
  readonly manifest: string;
  /** Whether the manifest becomes the baseline and stored evidence: not for an image that failed. */
  readonly asBaseline: boolean;
}

export async function keepManifest({ context, run, manifest, asBaseline }: KeepManifest): Promise<NonNullable<SmokeReport['packageManifest']>> {
  const { image } = run;
  await mkdir(run.logDir, { recursive: true });
  const file = join(run.logDir, `${image.name}.packages.txt`);
  await writeFile(file, manifest);
  const packages = manifest.split(/\r?\n/).filter((line) => line.trim()).length;
  // The same manifest as a CycloneDX SBOM, next to the run report.
  const sbomFile = join(run.logDir, `${image.name}-${run.version}.cdx.json`);
  const amiId = run.amis[image.buildRegion] ?? '';
  const sbomJson = `${JSON.stringify(cycloneDxSbom({ image: image.name, version: run.version, runId: context.runId, amiId, preset: image.preset, packageManifestCommand: image.packageManifestCommand, createdAt: context.now() }, manifest), null, 2)}\n`;
  await writeFile(sbomFile, sbomJson);
  run.logger.info(`package manifest: ${packages} packages, saved to ${file}; SBOM (CycloneDX): ${sbomFile}`);
  const stored = run.currentVersion
    ? await readStoredManifest(context, image.buildRegion, image.name, run.currentVersion).catch((error: unknown) => {
        run.logger.warn(`could not read the SBOM of ${image.name} ${run.currentVersion} from the evidence bucket: ${describeAwsError(error)}`);
        return undefined;
      })
    : undefined;
  const previous =
    stored !== undefined && run.currentVersion ? { version: run.currentVersion, text: stored } : await readPreviousManifest(context.workDir, image.name, run.currentVersion, run.version);
  if (previous) {
    const lines = describeManifestDiff(diffManifests(previous.text, manifest), previous.version);
    run.summary.push(...lines);
    for (const line of lines) run.logger.info(line);
  } else {
    run.summary.push(`packages: ${packages} (no earlier manifest to compare with)`);
  }
  if (asBaseline) await writeManifest(context.workDir, image.name, run.version, manifest);
  if (asBaseline && context.settings.evidence) {
    try {
      const where = await storeSbom(context, image.buildRegion, image.name, run.version, sbomJson);
      if (where) run.logger.info(`SBOM stored in the evidence bucket: ${where}`);
    } catch (error) {
      // NOTE: the image itself passed; evidence that could not be stored is said, in the log and the summary.
      run.logger.warn(`could not store the SBOM in the evidence bucket: ${describeAwsError(error)}`);
      run.summary.push(`SBOM not stored in the evidence bucket: ${describeAwsError(error)}`);
    }
  }
  return { file, packages, comparedWith: previous?.version };
}
