/**
 * Hostile strings through the real Packer (1.6.6): rendered, accepted by
 * `packer validate`, and, for the strings Packer evaluates as Go templates,
 * built on moto and read back from the AMI, or run by a local shell.
 */
import { parse } from '@cdktf/hcl2json';
import { DescribeImagesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { execa } from 'execa';
import fc from 'fast-check';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setImageDescription } from '../../src/adapters/ec2.ts';
import { packerBuild, packerValidate, packerVersion, type PackerVersionInfo } from '../../src/adapters/packer.ts';
import { hclString, packerTemplateBody, packerTemplateText } from '../../src/render/escape.ts';
import { attribute, hclBody } from '../../src/render/hcl.ts';
import { renderImage } from '../../src/render/render-template.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { awsClients } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { decodeTemplateText, evaluatePackerText, renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';

/** Each fragment has broken some quoting somewhere: HCL templates, Go templates, shells, heredocs, NFC. */
const hostileFragments = [
  '{{ .SourceAMI }}',
  '{{ timestamp }}',
  '{{ env `HOME` }}',
  '{{',
  '}}',
  '{{{',
  '${HOME}',
  '%{ if x }',
  '$${y}',
  '`uname`',
  '$(id)',
  '"',
  "'",
  '\\',
  '\n',
  '\t',
  '\u0007',
  '<<EOF',
  'EOF',
  'e\u0301',
  '\u{2f800}',
  '東京 🚀',
];
const hostileText: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom(...hostileFragments)), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join(''));
/** What Packer can carry: everything but "{{" (see escape.ts). */
const carriableText = hostileText.filter((text) => !text.includes('{{'));

/** The worst line we can think of, within AWS's 256-character tag value limit. */
const hostile = `{ .SourceAMI }}|{ {timestamp }}|}} \${HOME} %{ if x } $\${y} "q" 'q' \\ \`id\` café e\u0301 \u{2f800} <<EOF}}`;

/**
 * Forwards to moto and keeps every EC2 request's parameters: moto ignores the
 * Description of ModifyImageAttribute, which is how gild's share step sets the
 * description, so the test reads the description from the request.
 */
async function startRecordingProxy(target: string): Promise<{ endpoint: string; requests: URLSearchParams[]; stop(): Promise<void> }> {
  const requests: URLSearchParams[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks);
      requests.push(new URLSearchParams(body.toString('utf8')));
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>;
      const answer = await fetch(`${target}${request.url}`, { method: request.method, headers, body: request.method === 'GET' ? undefined : body });
      response.writeHead(answer.status, Object.fromEntries(answer.headers));
      response.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

let workDir: string;
let packer: PackerVersionInfo;
let moto: MotoServer;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-hostile-'));
  packer = await packerVersion();
  moto = await startMoto();
  await writeFile(path.join(workDir, 'motd'), 'welcome\n');
});
afterAll(async () => {
  await moto?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('hostile strings with the installed Packer', () => {
  it('render to templates that packer validate accepts and that parse back to exactly the input', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(carriableText, carriableText, hostileText, hostileText, async (tagKey, tagValue, description, command) => {
        run += 1;
        const image = resolvedImageFixture({
          description,
          provision: [
            { kind: 'shell', inline: [command], env: { VALUE: tagValue }, expectDisconnect: false, pauseBefore: undefined },
            { kind: 'upload', source: path.join(workDir, 'motd'), destination: `/tmp/${tagKey}`, pauseBefore: undefined },
          ],
        });
        const rendered = await renderImage(image, { ...renderInputFixture(path.join(workDir, 'property', String(run))), tags: { [`k ${tagKey}`]: tagValue }, packer });
        expect(await packerValidate(rendered.dir)).toEqual({ ok: true });
        const parsed = (await parse('image.pkr.hcl', await readFile(rendered.files[0] as string, 'utf8'))) as any;
        const seen = (text: string) => evaluatePackerText(decodeTemplateText(text));
        const source = parsed.source['amazon-ebs'].web[0];
        expect(Object.entries(source.tags).map(([key, value]) => [seen(key), seen(value as string)])).toEqual([[`k ${tagKey}`, tagValue]]);
        // NOTE: the description never reaches Packer (the share step sets it), so it may hold "{{" too.
        expect(source.ami_description).toBeUndefined();
        const [shell, upload] = [parsed.build[0].provisioner.shell[0], parsed.build[0].provisioner.file[0]];
        if (command.includes('{{')) expect(await readFile(seen(shell.script), 'utf8')).toBe(`#!/bin/sh -e\n${command}\n`);
        else expect(seen(shell.inline[0])).toBe(command);
        expect(seen(shell.environment_vars[0])).toBe(`VALUE=${tagValue}`);
        expect(seen(upload.destination)).toBe(`/tmp/${tagKey}`);
      }),
      { numRuns: 12 },
    );
  });

  it('are refused, with the setting named, where Packer would evaluate a "{{"', async () => {
    const image = resolvedImageFixture({ description: 'built from {{ .SourceAMI }}' });
    const rendering = renderImage(image, { ...renderInputFixture(path.join(workDir, 'refused')), tags: { note: '{{ .SourceAMI }}|{{ timestamp }}' }, packer });
    await expect(rendering).rejects.toMatchObject({
      code: 'EDEFINITIONS',
      details: [expect.stringMatching(/^images\/web\.ts: rendered source\.tags\.note: /)],
    });
  });

  it('reach the AMI exactly as written: a tag key and value and the AMI name, built on moto; the description, set by gild after Packer tagged the AMI', async () => {
    await moto.reset();
    const amiName = "web (1.0.0) [x] 'q' @a_b/c.d-20261128T120000Z";
    const description = `${hostile} ${'d'.repeat(255 - hostile.length - 1)}`;
    const image = resolvedImageFixture({ name: 'hostile', description });
    const input = renderInputFixture(path.join(workDir, 'build'));
    const tags = { ...input.tags, [`key }} { { e\u0301`]: hostile };
    const proxy = await startRecordingProxy(moto.endpoint);
    const rendered = await renderImage(image, { ...input, amiName, tags, packer, target: emulatorProfile({ endpoint: proxy.endpoint }).packer });

    const result = await packerBuild({ dir: rendered.dir, logFile: path.join(workDir, 'build.log'), env: { ...process.env, ...moto.env } });
    // NOTE: Packer changes no image attribute: its ModifyImageAttribute comes before its CreateTags, which the
    // pipeline role's tag-scoped policy refuses on AWS. The description is set by the share step, as here.
    const packerModified = proxy.requests.filter((request) => request.get('Action') === 'ModifyImageAttribute');
    const builtAmi = result.ok ? (result.amis['us-east-1'] as string) : '';
    await setImageDescription(awsClients(proxy.endpoint).ec2, builtAmi, description).finally(() => proxy.stop());

    expect(result, await readFile(path.join(workDir, 'build.log'), 'utf8')).toMatchObject({ ok: true });
    const amiId = result.ok ? (result.amis['us-east-1'] as string) : '';
    const { ec2 } = awsClients(moto.endpoint);
    const [ami] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images ?? [];
    expect(ami?.Name).toBe(amiName);
    expect(packerModified).toEqual([]);
    const describing = proxy.requests.filter((request) => request.get('Action') === 'ModifyImageAttribute' && request.has('Description.Value'));
    expect(describing.map((request) => request.get('Description.Value'))).toEqual([description]);
    expect(Object.fromEntries((ami?.Tags ?? []).map((tag) => [tag.Key, tag.Value]))).toEqual(tags);
    const snapshotIds = (ami?.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }))).Snapshots ?? [];
    for (const snapshot of snapshots) expect(Object.fromEntries((snapshot.Tags ?? []).map((tag) => [tag.Key, tag.Value]))).toEqual(tags);
  });

  it('reach the shell exactly as written: an inline command and an environment value, run by a local shell', async () => {
    const dir = path.join(workDir, 'shell-local');
    await mkdir(dir, { recursive: true });
    const commandOut = path.join(dir, 'command.out');
    const envOut = path.join(dir, 'env.out');
    const value = `${hostile} ; echo pwned`;
    const command = `printf '%s' '${value.replaceAll("'", `'\\''`)}' > ${commandOut}`;
    // NOTE: shell-local evaluates inline and environment_vars as Go templates, as the remote shell provisioner does.
    const body = packerTemplateBody([attribute('inline', [command, `printf '%s' "$VALUE" > ${envOut}`]), attribute('environment_vars', [`VALUE=${value}`])]);
    await writeFile(path.join(dir, 'shell.pkr.hcl'), `source "null" "x" {\ncommunicator = "none"\n}\nbuild {\nsources = ["source.null.x"]\nprovisioner "shell-local" {\n${hclBody(body)}\n}\n}\n`);
    await execa('packer', ['build', '-color=false', '.'], { cwd: dir });
    expect(await readFile(commandOut, 'utf8')).toBe(value);
    expect(await readFile(envOut, 'utf8')).toBe(value);
  });

  it('leaves NFC text without "{{" as it is, so rendered templates stay readable', () => {
    expect(packerTemplateText('plain ${x} }} { {')).toBe('plain ${x} }} { {');
    expect(hclString(packerTemplateText('e\u0301'))).toBe('"{{\\"e\\\\u0301\\"}}"');
  });
});
