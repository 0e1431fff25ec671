/** `gild unlock <image> --yes`: remove an image's lock by hand, only when its owner is gone (or with --force). */
import { createIoLogger, type Io } from './io.ts';
import { withImagesInContext } from './run-steps.ts';

export interface UnlockOptions {
  readonly image: string;
  readonly yes: boolean;
  readonly force: boolean;
}

export async function unlock(options: UnlockOptions, io: Io): Promise<number> {
  return withImagesInContext(io, createIoLogger(io), { images: [options.image] }, async (context, images) => {
    const { unlockImage } = await import('../apply/unlock-image.ts');
    io.stdout(`${await unlockImage(context, images[0]!, { confirmed: options.yes, force: options.force })}\n`);
    return 0;
  });
}
