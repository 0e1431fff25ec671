/**
 * Build: render the Packer folder for the image and run Packer. The AMI (and
 * its copies) come back as a region → AMI map from Packer's artifacts.
 */
import path from 'node:path';
import { gitCommit } from '../adapters/git.ts';
import { packerBuild, packerVersion } from '../adapters/packer.ts';
import { describeImages } from '../adapters/ec2.ts';
import { resolvePublishedImage } from '../plan/observe.ts';
import { renderImage } from '../render/render-template.ts';
import { amiName, gildTags } from './gild-tags.ts';
import type { Stage } from './stage.ts';

export const buildStage: Stage = {
  name: 'build',
  title: 'Build the AMI with Packer',
  mutates: true,
  async run(context, run) {
    const { image, plan } = run;
    let baseAmiId: string;
    if (plan.base.kind === 'resolved') {
      baseAmiId = plan.base.amiId;
    } else {
      // The base gild image was published earlier in this run: resolve it now.
      const range = image.base.kind === 'image' ? image.base.range : undefined;
      const base = await resolvePublishedImage(context, plan.base.image, range, image.buildRegion, plan.base.source);
      if (base.kind !== 'resolved') return { status: 'failed', reason: base.kind === 'unresolved' ? base.reason : `base image "${plan.base.image}" is not published` };
      baseAmiId = base.amiId;
    }
    run.state.baseAmiId = baseAmiId;

    const builtAt = context.now();
    const packer = await packerVersion();
    const tags = gildTags({ image, version: plan.nextVersion, runId: context.runId, baseAmiId, builtAt, gitCommit: await gitCommit(context.cwd), fingerprint: plan.fingerprint });
    const standIn = context.options.emulator?.standInSources[image.name];
    if (standIn) run.logger.info(`emulator: Packer cannot build from moto-made ${baseAmiId}; using stand-in ${standIn} as the source (tags still record ${baseAmiId})`);
    const rendered = await renderImage(image, {
      outDir: path.join(context.workDir, 'build', image.name),
      templatesDir: path.join(context.cwd, 'templates'),
      baseAmiId: standIn ?? baseAmiId,
      amiName: amiName(image.name, plan.nextVersion, builtAt),
      tags,
      runTags: { 'gild:run-id': context.runId, 'gild:image': image.name, 'gild:role': 'build', Name: `gild-build-${image.name}-${plan.nextVersion}` },
      packer,
      ...(context.options.emulator ? { emulator: { endpoint: context.options.emulator.endpoint } } : {}),
      logger: run.logger,
    });
    run.logger.info(`rendered ${rendered.files.map((file) => path.relative(context.cwd, file)).join(', ')}; building from ${baseAmiId} (${plan.base.source})`);

    const result = await packerBuild({ dir: rendered.dir, logFile: run.logFile, env: context.env, signal: run.signal });
    if (!result.ok) return { status: 'failed', reason: `Packer build failed for image "${image.name}": ${result.reason}. Full log: ${path.relative(context.cwd, run.logFile)}` };

    const missing = image.regions.filter((region) => !result.amis[region]);
    if (missing.length > 0) return { status: 'failed', reason: `Packer reported no AMI for ${missing.join(', ')}. Full log: ${path.relative(context.cwd, run.logFile)}` };
    run.state.amis = Object.fromEntries(image.regions.map((region) => [region, result.amis[region]!]));

    const snapshots: Record<string, string[]> = {};
    await Promise.all(
      image.regions.map(async (region) => {
        const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [run.state.amis![region]!] });
        snapshots[region] = [...(ami?.snapshotIds ?? [])];
      }),
    );
    run.state.snapshots = snapshots;
    run.logger.info(`built ${Object.entries(run.state.amis).map(([region, amiId]) => `${region}:${amiId}`).join(', ')}`);
    return { status: 'done' };
  },
};
