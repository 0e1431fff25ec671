import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { renderTwin, twinBaseOf, twinSetupCommands, twinTag } from '../../src/target/container-twins.ts';

describe('checks that need a VM', () => {
  it('warns about a check that calls systemctl without needs: "vm", naming the check', () => {
    const { errors, warnings } = validateOne({
      smoke: {
        checks: [
          { name: 'nginx is enabled', run: ['true', 'systemctl is-enabled nginx'] },
          { name: 'plain', run: 'true' },
        ],
      },
    });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      `images/web.ts: smoke.checks[0] ("nginx is enabled") calls systemctl, which needs systemd as PID 1: in a container twin it cannot pass. Add needs: 'vm' so it is skipped there (it still runs on AWS).`,
    ]);
  });

  it('accepts such a check marked needs: "vm", and refuses any other value', () => {
    expect(validateOne({ smoke: { checks: [{ name: 'enabled', run: 'systemctl is-enabled nginx', needs: 'vm' }] } }).warnings).toEqual([]);
    expect(validateOne({ smoke: { checks: [{ name: 'enabled', run: 'true', needs: 'container' }] } }).errors).toHaveLength(1);
  });
});

describe('container twins', () => {
  it('take the container image from the OS preset, or the definition, and say why an image has none', () => {
    expect(twinBaseOf(resolvedImageFixture({ preset: 'debian-12' }))).toEqual({ kind: 'container', containerImage: 'debian:12' });
    expect(twinBaseOf(resolvedImageFixture({ preset: 'debian-12', containerImage: 'localhost/mine:1' }))).toEqual({ kind: 'container', containerImage: 'localhost/mine:1' });
    expect(twinBaseOf(resolvedImageFixture({ platform: 'windows', preset: 'windows-server-2022' }))).toEqual({ kind: 'none', reason: 'a Windows image has no container twin' });
    expect(twinBaseOf(resolvedImageFixture({ preset: 'freebsd-14' }))).toEqual({ kind: 'none', reason: 'the OS preset "freebsd-14" has no container image' });
    expect(twinBaseOf(resolvedImageFixture({ preset: undefined, base: { kind: 'image', image: 'base', range: '^1' } }))).toMatchObject({
      kind: 'none',
      reason: expect.stringMatching(/^it is built on the gild image "base"/),
    });
  });

  it('are tagged with the image, version and run, and restrict every twin-only block with only', () => {
    expect(twinTag('web', '1.2.3', '20260101T000000Z-abc123').reference).toBe('localhost/gild-twin/web:1.2.3-20260101T000000Z-abc123');
    const twin = renderTwin(resolvedImageFixture({ name: 'web', preset: 'debian-12' }), { containerImage: 'debian:12', version: '1.2.3', runId: 'run1' });
    expect(twin.only).toBe('docker.web');
    expect(twin.sourceBody).toContainEqual({ kind: 'attribute', name: 'pull', value: false });
    expect(twin.setupProvisioner.body[0]).toEqual({ kind: 'attribute', name: 'only', value: ['docker.web'] });
    expect(twin.postProcessor.body).toContainEqual({ kind: 'attribute', name: 'tags', value: ['1.2.3-run1'] });
  });

  it("install a sudo that runs the command as root, with sudo's options and variable assignments", async () => {
    const { execa } = await import('execa');
    const [installSudo] = twinSetupCommands('admin');
    const dir = (await execa('mktemp', ['-d'])).stdout;
    const script = installSudo!.replaceAll('/usr/local/bin/sudo', `${dir}/sudo`).replace('if ! command -v sudo >/dev/null 2>&1; then', 'if true; then');
    await execa('sh', ['-c', script]);
    const ran = await execa(`${dir}/sudo`, ['-E', '-u', 'root', 'GREETING=hi', 'sh', '-c', 'echo "$GREETING $0"', 'ok']);
    expect(ran.stdout).toBe('hi ok');
    await execa('rm', ['-rf', dir]);
  });
});
