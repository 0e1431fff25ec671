/**
 * The Packer folder `gild test` builds: the image's container twin alone, with the same provisioner blocks the
 * image's template runs (buildProvisioners), after the twin's own setup, and the tagging post-processor. No amazon
 * source, so no AWS account is needed.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { TwinRender } from '../target/container-twins.ts';
import { formatHcl } from './format-hcl.ts';
import { hclBody, hclString } from './hcl.ts';
import { buildProvisioners } from './provisioners.ts';

export async function renderTwinTemplate(image: ResolvedImage, twin: TwinRender, outDir: string): Promise<string> {
  const { provisioners, scripts } = buildProvisioners(image, outDir);
  const blocks = [twin.setupProvisioner, ...provisioners].map((provisioner) => [`provisioner ${hclString(provisioner.type)} {`, hclBody(provisioner.body), '}'].join('\n'));
  const hcl = [
    `# Rendered by gild test for image ${hclString(image.name)}: its container twin only.`,
    `source ${hclString(twin.sourceType)} ${hclString(twin.sourceName)} {`,
    hclBody(twin.sourceBody),
    '}',
    '',
    'build {',
    `sources = [${hclString(`source.${twin.sourceType}.${twin.sourceName}`)}]`,
    ...blocks.flatMap((block) => ['', block]),
    '',
    `post-processor ${hclString(twin.postProcessor.type)} {`,
    hclBody(twin.postProcessor.body),
    '}',
    '}',
    '',
  ].join('\n');
  const file = path.join(outDir, 'twin.pkr.hcl');
  await writeFile(file, formatHcl(hcl));
  for (const script of scripts) await writeFile(path.join(outDir, script.name), script.content, { mode: 0o755 });
  return file;
}
