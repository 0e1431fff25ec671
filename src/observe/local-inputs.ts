/**
 * What a plan needs from the local disk: each image's fingerprint, the hash of
 * what goes into the image (the rendered template and the files it uses; see
 * src/render/fingerprint-image.ts). Read before assembling, so the assembler
 * stays pure.
 */
import path from 'node:path';
import { packerVersion } from '../adapters/packer.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { fingerprintImage } from '../render/fingerprint-image.ts';
import { sharedReads } from '../render/file-reads.ts';
import { oneATurn } from './one-a-turn.ts';

export async function fingerprintImages(context: Context, images: readonly ResolvedImage[]): Promise<Record<string, string>> {
  const packer = await packerVersion();
  const templatesDir = path.join(context.cwd, 'templates');
  // Every image's template, partials and scripts are read once for all of them (src/render/file-reads.ts).
  const reads = sharedReads();
  // NOTE: each image starts its render a turn of the event loop after the one before (the renders still overlap their
  // file reads). A plan fingerprints while its observation's AWS calls are under way: with the files read once, the
  // renders no longer wait for the disk, and 100 of them ran as one block of ~25 ms on the main thread before the
  // observation's first requests were sent; a turn each lets requests go out and answers be read in between.
  const inTurn = oneATurn();
  const entries = await Promise.all(
    images.map((image) =>
      // NOTE: the same on every target (see fingerprint-image.ts): the emulator rehearses the real account's decisions.
      inTurn(async () => [image.name, (await fingerprintImage(image, { templatesDir, packer, reads })).fingerprint] as const),
    ),
  );
  return Object.fromEntries(entries);
}
