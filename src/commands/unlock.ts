/** `gild unlock <image> --yes`: remove an image's lock by hand, only when its owner is gone (or with --force). */
import { createCleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { createRunContext, finishRun, installSignalHandlers, startEmulatorIfAsked } from './run-steps.ts';

export interface UnlockOptions {
  readonly image: string;
  readonly yes: boolean;
  readonly force: boolean;
}

export async function unlock(options: UnlockOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  const [image] = selectImages(project.images, [options.image]);
  const emulator = await startEmulatorIfAsked(false, io.env, logger);
  const cleanups = createCleanupRegistry();
  const handlers = installSignalHandlers(logger, () => io.exit(130));
  let context: Context | undefined;
  try {
    context = await createRunContext({ cwd: io.cwd, emulator, logger, settings: project.settings, images: [image!], options: { baseOverrides: {} } });
    const { unlockImage } = await import('../apply/unlock-image.ts');
    io.stdout(`${await unlockImage(context, image!, { confirmed: options.yes, force: options.force })}\n`);
    return 0;
  } finally {
    await finishRun(logger, cleanups, context, emulator, handlers);
  }
}
