/**
 * Renders an image without AWS, for `render` and `validate`: the base AMI is a
 * placeholder unless given, and the tags are the definition's plus gild's name
 * and version, since there is no run to tag.
 */
import path from 'node:path';
import type { packerVersion } from '../adapters/packer.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';
import { renderImage } from '../render/render-template.ts';
import { emulatorProfile } from '../target/emulator-profile.ts';

/** Placeholder base for `render` and `validate`, which must work without AWS. */
const placeholderAmi = 'ami-00000000000000000';

export function renderOffline(
  cwd: string,
  image: ResolvedImage,
  outDir: string,
  packer: Awaited<ReturnType<typeof packerVersion>>,
  options: { baseAmiId?: string | undefined; emulatorEndpoint?: string | undefined; logger?: Logger },
) {
  return renderImage(image, {
    outDir,
    templatesDir: path.join(cwd, 'templates'),
    baseAmiId: options.baseAmiId ?? placeholderAmi,
    amiName: `${image.name}-${image.version}-rendered`,
    tags: { ...image.tags, 'gild:image': image.name, 'gild:version': image.version },
    runTags: { 'gild:image': image.name, 'gild:role': 'build' },
    packer,
    ...(options.emulatorEndpoint ? { target: emulatorProfile({ endpoint: options.emulatorEndpoint }).packer } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
