/**
 * Which images get a container twin on this machine, decided once per run and said in the log (docs/emulator.md
 * "Container twins"): an engine must answer, and the twin's container image must already be there (nothing is pulled).
 */
import type { ContainerTwins as EmulatorTwins } from '../target/container-twins.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';
import { twinBaseOf } from '../target/container-twins.ts';
import { findContainerEngine, lookUpLocalImage } from './container-engine.ts';

export async function prepareTwins(images: readonly ResolvedImage[], searchPath: string, logger: Logger): Promise<EmulatorTwins | undefined> {
  const linux = images.filter((image) => image.platform === 'linux');
  for (const image of images) if (image.platform === 'windows') logger.info(`twins: ${image.name} has no container twin: a Windows image has none; its smoke checks are not run on the emulator`);
  if (linux.length === 0) return undefined;
  const search = await findContainerEngine(searchPath);
  if (!search.found) {
    logger.warn(
      `twins: no container engine answered (${search.tried.join('; ')}), so no image has a container twin: provisioning and smoke checks are not run on the emulator. Install Docker or Podman and the base image (bash .ci/setup-containers.sh).`,
    );
    return undefined;
  }
  const engine = search.found;
  logger.info(`twins: container engine ${engine.kind} ${engine.version} (${engine.binary})${search.tried.length > 0 ? `; passed over: ${search.tried.join('; ')}` : ''}`);
  const containerImages: Record<string, string> = {};
  const fromBaseTwin: Record<string, string> = {};
  const present = new Map<string, ReturnType<typeof lookUpLocalImage>>();
  const hasTwin = (name: string) => name in containerImages || name in fromBaseTwin;
  // NOTE: bases before dependants (validation rejected cycles), so a base's twin is decided before its dependants ask.
  for (const image of orderBasesFirst(linux)) {
    if (image.base.kind === 'image' && !image.containerImage) {
      const baseName = image.base.image;
      if (hasTwin(baseName)) {
        fromBaseTwin[image.name] = baseName;
        logger.info(`twins: ${image.name} gets a container twin from the twin of its base "${baseName}" when this run builds that base (a twin lives only in the run that built it)`);
      } else {
        logger.info(
          `twins: ${image.name} has no container twin: its base "${baseName}" ${linux.some((candidate) => candidate.name === baseName) ? 'has none' : 'is not in this run, and a twin lives only in the run that built it'}; its smoke checks are not run on the emulator`,
        );
      }
      continue;
    }
    const base = twinBaseOf(image);
    if (base.kind === 'none') {
      logger.info(`twins: ${image.name} has no container twin: ${base.reason}; its smoke checks are not run on the emulator`);
      continue;
    }
    if (!present.has(base.containerImage)) present.set(base.containerImage, lookUpLocalImage(engine, base.containerImage));
    const lookedUp = await present.get(base.containerImage)!;
    if (lookedUp.present) {
      containerImages[image.name] = base.containerImage;
      logger.info(`twins: ${image.name} gets a container twin from ${base.containerImage}`);
    } else if (lookedUp.problem) {
      logger.warn(`twins: ${image.name} has no container twin: the engine could not say whether ${base.containerImage} is present (${lookedUp.problem}); its smoke checks are not run on the emulator`);
    } else {
      logger.info(`twins: ${image.name} has no container twin: image ${base.containerImage} not present locally (nothing is pulled); its smoke checks are not run on the emulator`);
    }
  }
  return { engine: { kind: engine.kind, binary: engine.binary, dockerShimDir: engine.dockerShimDir }, containerImages, ...(Object.keys(fromBaseTwin).length > 0 ? { fromBaseTwin } : {}) };
}

function orderBasesFirst(images: readonly ResolvedImage[]): ResolvedImage[] {
  const byName = new Map(images.map((image) => [image.name, image]));
  const ordered: ResolvedImage[] = [];
  const placed = new Set<string>();
  const place = (image: ResolvedImage, depth: number) => {
    if (placed.has(image.name) || depth > images.length) return;
    for (const dependency of image.dependsOn) {
      const base = byName.get(dependency);
      if (base) place(base, depth + 1);
    }
    placed.add(image.name);
    ordered.push(image);
  };
  for (const image of images) place(image, 0);
  return ordered;
}

/**
 * Removes the twins this run committed (labelled `gild.run-id=<runId>`, tagged or not) once the run is over: a twin exists for
 * the run's smoke checks, and each holds its provisioning's layer. Best effort: a twin left behind is only disk.
 */
export async function removeRunTwins(twins: EmulatorTwins | undefined, runId: string, logger: Logger): Promise<void> {
  if (!twins || Object.keys(twins.containerImages).length === 0) return;
  const { execa } = await import('execa');
  // NOTE: by the run's label (src/target/container-twins.ts), not by name: an interrupted `packer build` can leave its
  // commit untagged, which no name matches, and each is hundreds of MB.
  const listed = await execa(twins.engine.binary, ['images', '--filter', `label=gild.run-id=${runId}`, '--format', '{{.ID}}'], { reject: false, stdin: 'ignore' });
  const ours = [
    ...new Set(
      String(listed.stdout)
        .split('\n')
        .filter((id) => /^[0-9a-f]{12,64}$/.test(id)),
    ),
  ];
  if (ours.length === 0) return;
  const removed = await execa(twins.engine.binary, ['rmi', '--force', ...ours], { reject: false, stdin: 'ignore' });
  if (removed.exitCode === 0) logger.debug(`twins: removed ${ours.join(', ')}`);
  else logger.warn(`twins: could not remove ${ours.join(', ')}: ${String(removed.stderr).split('\n')[0]}`);
}
