/** `gild validate`: every definition and the settings, then `packer validate` on each rendered template. */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { catalogue } from '../errors.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject } from './load-project.ts';

export type ValidateOptions = Record<string, never>;

export async function validate(_options: ValidateOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  // NOTE: Packer and the renderer (execa, handlebars) load only once the definitions are valid.
  const [{ packerValidate, packerVersion }, { renderOffline }] = await Promise.all([import('../adapters/packer.ts'), import('./render-offline.ts')]);
  let packer;
  try {
    packer = await packerVersion();
  } catch {
    io.stdout(`${project.images.length} image definitions are valid. Packer is not installed, so the rendered templates were not checked with \`packer validate\`.\n`);
    return 0;
  }
  const problems: string[] = [];
  const scratch = path.join(io.cwd, '.gild', 'validate');
  for (const image of project.images) {
    // NOTE: .gild/validate/ is gild's own scratch space, so clearing it removes nothing of the user's.
    await rm(path.join(scratch, image.name), { recursive: true, force: true });
    const rendered = await renderOffline(io.cwd, image, path.join(scratch, image.name), packer, {});
    const result = await packerValidate(rendered.dir);
    if (!result.ok)
      problems.push(`${image.file}: packer validate (Packer ${packer.major}.${packer.minor}.${packer.patch}) rejected the rendered template: ${result.output.trim().split('\n').slice(-3).join(' ')}`);
  }
  if (problems.length > 0) throw catalogue.EDEFINITIONS(problems);
  io.stdout(`${project.images.length} image definitions are valid, and Packer ${packer.major}.${packer.minor}.${packer.patch} accepts every rendered template.\n`);
  return 0;
}
