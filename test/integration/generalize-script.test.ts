/**
 * The rendered Linux generalize script, run for real with sh on a throwaway tree laid out like a build instance
 * (GILD_GENERALIZE_ROOT), and the identity the smoke test compares, read back before and after. The commands it
 * calls on a live system (cloud-init, package managers, journalctl) are stand-ins on PATH that record their
 * arguments, so the test proves what it asks of them without touching this machine.
 */
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Generalize } from '../../src/definition/resolved-image.ts';
import { linuxGeneralizeScript } from '../../src/render/generalize.ts';
import { linuxIdentityCommands, linuxRecordIdentityScript, parseMachineIdentity } from '../../src/render/machine-identity.ts';

let workDir: string;
let root: string;
let standIns: string;
const calls = () => readFile(path.join(workDir, 'calls.log'), 'utf8').catch(() => '');

async function put(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await writeFile(path.join(root, file), content);
}

beforeEach(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-generalize-'));
  root = path.join(workDir, 'root');
  standIns = path.join(workDir, 'bin');
  await mkdir(standIns, { recursive: true });
  for (const command of ['cloud-init', 'dnf', 'apt-get', 'zypper', 'pkg', 'journalctl']) {
    await writeFile(path.join(standIns, command), `#!/bin/sh\necho "${command} $*" >> '${path.join(workDir, 'calls.log')}'\n`);
    await chmod(path.join(standIns, command), 0o755);
  }
  await mkdir(path.join(root, 'etc/ssh'), { recursive: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'build-host', '-f', path.join(root, 'etc/ssh/ssh_host_ed25519_key')]);
  await put('etc/machine-id', '0123456789abcdef0123456789abcdef\n');
  await put('var/lib/dbus/machine-id', '0123456789abcdef0123456789abcdef\n');
  await put('usr/lib/systemd/system/sshd-keygen@.service', '[Unit]\n');
  await put('var/lib/cloud/instances/i-0build/obj.pkl', 'state');
  await put('var/log/messages', 'build log line\n');
  await put('var/log/messages.1', 'rotated\n');
  await put('var/log/dnf.log.gz', 'compressed');
  await put('var/log/journal/0123/system.journal', 'journal');
  await put('var/lib/systemd/random-seed', 'seed');
  await put('var/lib/dhcp/dhclient.eth0.leases', 'lease');
  await put('var/lib/rsyslog/imjournal.state', 'cursor');
  await put('root/.bash_history', 'sudo secret-command\n');
  await put('home/admin/.bash_history', 'history\n');
  await put('home/admin/.python_history', 'history\n');
  await put('tmp/packer-upload/file', 'x');
  await put('tmp/.hidden', 'x');
  await put('var/tmp/build-scratch', 'x');
  await put('var/cache/apt/archives/tool_1.0_amd64.deb', 'deb');
  await put('var/cache/dnf/amazonlinux/repodata', 'repo');
  const publicKey = await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'packer_temporary_key', '-f', path.join(workDir, 'packer-key')]).then(() =>
    readFile(path.join(workDir, 'packer-key.pub'), 'utf8'),
  );
  await put('home/admin/.ssh/authorized_keys', publicKey);
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const on = (keep: Extract<Generalize, { kind: 'on' }>['keep'] = [], reason?: string): Extract<Generalize, { kind: 'on' }> => ({ kind: 'on', keep, reason, launchAgent: undefined });

async function runScript(content: string) {
  const file = path.join(workDir, 'script.sh');
  await writeFile(file, content);
  return execa('sh', [file], { env: { PATH: `${standIns}:/usr/bin:/bin`, GILD_GENERALIZE_ROOT: root }, extendEnv: false, reject: false });
}

async function identity() {
  const result = await runScript(`#!/bin/sh\n${linuxIdentityCommands.join('\n')}\n`);
  expect(result.exitCode).toBe(0);
  return parseMachineIdentity(result.stdout);
}

const exists = (file: string) =>
  stat(path.join(root, file)).then(
    () => true,
    () => false,
  );

describe('the Linux generalize script on a throwaway root', () => {
  it('clears host keys, machine-id, cloud-init, logs, history, temporary files and caches, and says each', async () => {
    const before = await identity();
    expect(before.machineId).toBe('0123456789abcdef0123456789abcdef');
    expect(before.hostKeys).toHaveLength(1);
    expect(before.authorizedKeys.map((key) => key.file)).toEqual([path.join(root, 'home/admin/.ssh/authorized_keys')]);

    const result = await runScript(linuxGeneralizeScript(on()));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(
      result.stdout
        .split('\n')
        .filter((line) => line.startsWith('gild generalize: clearing'))
        .map((line) => line.split(' ')[3]),
    ).toEqual(['package-caches', 'cloud-init', 'ssh-host-keys', 'machine-id', 'logs', 'shell-history', 'temp-files']);

    expect(await readdir(path.join(root, 'etc/ssh'))).toEqual([]);
    expect(await readFile(path.join(root, 'etc/machine-id'), 'utf8')).toBe(''); // emptied, not deleted
    expect(await exists('var/lib/dbus/machine-id')).toBe(false);
    expect(await readFile(path.join(root, 'var/log/messages'), 'utf8')).toBe('');
    expect(await exists('var/log/messages.1')).toBe(false);
    expect(await exists('var/log/dnf.log.gz')).toBe(false);
    expect(await readdir(path.join(root, 'var/log/journal'))).toEqual([]); // no journald runs on this root to vacuum them
    expect(await exists('var/lib/systemd/random-seed')).toBe(false);
    expect(await exists('var/lib/dhcp/dhclient.eth0.leases')).toBe(false);
    expect(await exists('var/lib/rsyslog/imjournal.state')).toBe(false);
    expect(await exists('root/.bash_history')).toBe(false);
    expect(await readdir(path.join(root, 'home/admin'))).toEqual(['.ssh']);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
    expect(await readdir(path.join(root, 'var/tmp'))).toEqual([]);
    expect(await readdir(path.join(root, 'var/cache/apt/archives'))).toEqual([]);
    expect(await readdir(path.join(root, 'var/cache/dnf'))).toEqual([]);
    expect((await calls()).split('\n').filter(Boolean).sort()).toEqual(['apt-get clean', 'cloud-init clean --logs', 'dnf -q clean all', 'zypper --non-interactive --quiet clean --all']);

    const after = await identity();
    expect(after.machineId).toBe('');
    expect(after.hostKeys).toEqual([]);
    // Packer's temporary key is removed by Packer itself after this script (ssh_clear_authorized_keys).
    expect(after.authorizedKeys).toEqual(before.authorizedKeys);
  });

  it('keeps what the definition keeps and says why', async () => {
    const result = await runScript(linuxGeneralizeScript(on(['ssh-host-keys', 'machine-id'], 'appliance pinned by its host key')));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('gild generalize: keeping ssh-host-keys (SSH host keys), as the definition asks: appliance pinned by its host key');
    expect(result.stdout).toContain('gild generalize: keeping machine-id (machine-id, random seed and DHCP leases), as the definition asks: appliance pinned by its host key');
    expect((await readdir(path.join(root, 'etc/ssh'))).sort()).toEqual(['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    expect(await readFile(path.join(root, 'etc/machine-id'), 'utf8')).toBe('0123456789abcdef0123456789abcdef\n');
    expect(await exists('root/.bash_history')).toBe(false);
  });

  it('prints a hostile reason exactly as written and runs none of it', async () => {
    const reason = `it's "quoted" $(touch ${path.join(workDir, 'pwned')}) \`id\` \${HOME} {{ .Path }}`;
    const result = await runScript(linuxGeneralizeScript(on(['temp-files'], reason)));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`gild generalize: keeping temp-files (temporary files), as the definition asks: ${reason}\n`);
    expect(
      await stat(path.join(workDir, 'pwned')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
  });

  it('refuses to remove host keys that nothing would make again at boot, and leaves them', async () => {
    await rm(path.join(root, 'usr/lib/systemd/system/sshd-keygen@.service'));
    await rm(path.join(standIns, 'cloud-init'));
    const result = await runScript(linuxGeneralizeScript(on()));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/nothing on this OS makes new SSH host keys at boot .* keep them: generalize: \{ keep: \['ssh-host-keys'\], reason \}/);
    expect(await readdir(path.join(root, 'etc/ssh'))).toHaveLength(2);
  });

  it('runs where nothing of a machine exists yet (a bare container root): no keys, no machine-id, no cloud-init', async () => {
    await rm(root, { recursive: true, force: true });
    await mkdir(path.join(root, 'tmp'), { recursive: true });
    await rm(path.join(standIns, 'cloud-init'));
    const result = await runScript(linuxGeneralizeScript(on()));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('gild generalize: no SSH host keys here');
    expect(result.stdout).toContain('gild generalize: no /etc/machine-id here');
    expect(result.stdout).toContain('gild generalize: no cloud-init here: nothing to clean');
  });

  it('records the build identity into the file Packer downloads', async () => {
    const result = await runScript(linuxRecordIdentityScript());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const recorded = parseMachineIdentity(await readFile(path.join(root, 'tmp/gild-build-identity.txt'), 'utf8'));
    expect(recorded).toEqual(await identity());
    expect(recorded.hostKeys[0]).toMatch(/^SHA256:/);
  });
});
