/** `gild render <image> --out <dir>`: the Packer folder for one image, as `packer validate` accepts it. */
import path from 'node:path';
import { packerVersion } from '../adapters/packer.ts';
import { catalogue } from '../errors.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { renderOffline } from './render-offline.ts';

export interface RenderOptions {
  readonly image: string;
  readonly out: string;
  readonly baseAmi?: string | undefined;
  readonly localEndpoint?: string | undefined;
}

export async function render(options: RenderOptions, io: Io): Promise<number> {
  const outDir = path.resolve(io.cwd, options.out);
  // NOTE: the project and the folders above it are never an output folder, marker or not.
  if (!path.relative(outDir, io.cwd).startsWith('..'))
    throw catalogue.EUSAGE(`--out ${options.out}: ${outDir} is the project folder or contains it. Give a new or empty folder inside the project, e.g. --out build/${options.image}.`);
  const project = await loadProject(io.cwd);
  const [image] = selectImages(project.images, [options.image]);
  const rendered = await renderOffline(io.cwd, image!, outDir, await packerVersion(), {
    baseAmiId: options.baseAmi,
    emulatorEndpoint: options.localEndpoint,
    logger: createIoLogger(io),
  });
  io.stdout(`${rendered.files.map((file) => path.relative(io.cwd, file)).join('\n')}\n`);
  return 0;
}
