/**
 * The shipped examples rendered as a real project renders them: gild's generalize step is the last provisioner,
 * patching comes first, and the installed Packer (1.6.6 in CI) validates the folder.
 */
import { parse } from '@cdktf/hcl2json';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packerFmtCheck, packerValidate, packerVersion, type PackerVersionInfo } from '../../src/adapters/packer.ts';
import { loadProject } from '../../src/commands/load-project.ts';
import { renderOffline } from '../../src/commands/render-offline.ts';
import { render } from '../../src/commands/render.ts';
import { fakeIo } from '../support/fake-io.ts';
import { createTempProject, type TempProject } from '../support/project.ts';

let project: TempProject;
let packer: PackerVersionInfo;
beforeAll(async () => {
  project = await createTempProject({ shippedImages: true });
  packer = await packerVersion();
});
afterAll(async () => {
  await project?.remove();
});

/** The rendered build block's provisioners in the order Packer runs them, as [type, body] pairs. */
async function renderedProvisioners(imageName: string): Promise<{ dir: string; source: Record<string, unknown>; provisioners: [string, Record<string, unknown>][] }> {
  const out = path.join('build', imageName);
  await rm(path.join(project.dir, out), { recursive: true, force: true });
  await render({ image: imageName, out, baseAmi: 'ami-0123456789abcdef0' }, fakeIo({ cwd: project.dir }).io);
  const dir = path.join(project.dir, out);
  const text = await readFile(path.join(dir, 'image.pkr.hcl'), 'utf8');
  const parsed = (await parse('image.pkr.hcl', text)) as { source: Record<string, Record<string, Record<string, unknown>[]>> };
  const source = parsed.source['amazon-ebs']![imageName]![0]!;
  // hcl2json groups provisioners by type; the order Packer runs them in is the order of the blocks in the text.
  const provisioners = [...text.matchAll(/^ {2}provisioner "([a-z-]+)" \{\n([\s\S]*?)^ {2}\}/gm)].map(([, type, body]): [string, Record<string, unknown>] => [
    type!,
    Object.fromEntries([...body!.matchAll(/^\s+([a-z_]+)\s+= (.*)$/gm)].map(([, name, value]) => [name!, JSON.parse(value!)])),
  ]);
  return { dir, source, provisioners };
}

describe('the shipped examples, rendered', () => {
  it('renders al2023-base with the patch step first and the generalize step last, and Packer validates it', async () => {
    const { dir, source, provisioners } = await renderedProvisioners('al2023-base');
    expect(source.ssh_clear_authorized_keys).toBe(true);
    expect(provisioners.map(([type, body]) => `${type} ${path.basename(String(body.script ?? body.source ?? body.inline))}`)).toEqual([
      'shell gild-patch.sh',
      'shell sudo dnf -y install amazon-ssm-agent audit',
      'shell harden-linux.sh',
      'shell gild-record-identity.sh',
      'file gild-build-identity.txt',
      'shell gild-generalize.sh',
    ]);
    expect(provisioners[4]![1]).toEqual({ direction: 'download', source: '/tmp/gild-build-identity.txt', destination: path.join(dir, 'build-identity.txt') });
    const generalize = await readFile(path.join(dir, 'gild-generalize.sh'), 'utf8');
    expect(generalize).toContain('cloud-init clean --logs');
    expect(await packerFmtCheck(dir)).toEqual({ ok: true });
    if (packer.major === 1 && packer.minor < 7) expect(await packerValidate(dir)).toEqual({ ok: true });
  });

  it('renders windows-2022 with Windows Update first and EC2Launch v2 Sysprep last, which stops the instance for Packer', async () => {
    const { dir, source, provisioners } = await renderedProvisioners('windows-2022');
    expect(source.disable_stop_instance).toBe(true);
    expect(source.aws_polling).toEqual([{ delay_seconds: 15, max_attempts: 120 }]);
    expect(source).not.toHaveProperty('ssh_clear_authorized_keys');
    expect(provisioners.map(([type]) => type)).toEqual([
      'powershell', // Windows Update, as SYSTEM
      'windows-restart',
      'powershell', // a second round: a cumulative update often waits for a servicing-stack update
      'windows-restart',
      'powershell', // the definition's steps
      'windows-restart',
      'powershell',
      'powershell', // the build's computer name, for the smoke test
      'file',
      'windows-shell', // Sysprep, last
    ]);
    expect(provisioners[0]![1]).toMatchObject({ elevated_user: 'SYSTEM', elevated_password: '' });
    expect(provisioners.at(-1)![1]).toEqual({ inline: ['"%ProgramFiles%\\Amazon\\EC2Launch\\ec2launch.exe" sysprep --shutdown=true'] });
    expect(await packerFmtCheck(dir)).toEqual({ ok: true });
    if (packer.major === 1 && packer.minor < 7) expect(await packerValidate(dir)).toEqual({ ok: true });
  });

  it('renders the same provisioners and generalize settings for modern Packer, beside its plugin requirement', async () => {
    const old = await renderedProvisioners('windows-2022');
    const oldText = await readFile(path.join(old.dir, 'image.pkr.hcl'), 'utf8');
    const dir = path.join(project.dir, 'build', 'modern');
    const loaded = await loadProject(project.dir);
    const image = loaded.images.find((candidate) => candidate.name === 'windows-2022')!;
    await renderOffline(project.dir, image, dir, { major: 1, minor: 11, patch: 2, raw: 'Packer v1.11.2' }, { baseAmiId: 'ami-0123456789abcdef0' });
    const modernText = await readFile(path.join(dir, 'image.pkr.hcl'), 'utf8');
    const build = (text: string, folder: string) => text.slice(text.indexOf('build {')).replaceAll(folder, '<dir>');
    expect(build(modernText, dir)).toEqual(build(oldText, old.dir));
    expect(modernText).toContain('disable_stop_instance');
    expect(await readFile(path.join(dir, 'plugins.pkr.hcl'), 'utf8')).toContain('github.com/hashicorp/amazon');
  });
});
