/**
 * How gild finds the engine for container twins (src/local/container-engine.ts): each candidate is asked
 * `version --format '{{json .}}'`, the first that answers wins, and a run asks once however many parts of it need the
 * engine. The candidates here are scripts on a PATH of their own that answer as Docker and Podman do, and count how
 * often they are asked; the real engine is asked in test/integration/twins-e2e.test.ts.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { engineOfVersion, findContainerEngine, lookUpLocalImage } from '../../src/local/container-engine.ts';

// What `version --format '{{json .}}'` printed on this machine: Podman 4.3 (local, through podman-docker too), and
// a Docker 28 client with no daemon (exit 1); Docker with a daemon, and a remote Podman, as their documentation shows.
const podmanLocal = '{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","GoVersion":"go1.19.8","OsArch":"linux/amd64","Os":"linux"}}';
const podmanRemote = '{"Client":{"APIVersion":"5.2.0","Version":"5.2.0","Os":"darwin"},"Server":{"APIVersion":"5.2.1","Version":"5.2.1","Os":"linux"}}';
const dockerNoDaemon = '{"Client":{"Version":"28.2.2","ApiVersion":"1.50","DefaultAPIVersion":"1.50","Os":"linux","Arch":"amd64","Context":"default"},"Server":null}';
const dockerWithDaemon = '{"Client":{"Version":"28.2.2","ApiVersion":"1.50","Os":"linux"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Version":"28.2.2","ApiVersion":"1.50"}}';

describe('which engine a version answer comes from', () => {
  it('tells Podman (local or remote) from Docker, with the version of what runs the containers', () => {
    expect(engineOfVersion('/usr/bin/podman', podmanLocal)).toEqual({ kind: 'podman', version: '4.3.1' });
    expect(engineOfVersion('/usr/bin/docker', podmanLocal)).toEqual({ kind: 'podman', version: '4.3.1' });
    expect(engineOfVersion('/usr/bin/podman', podmanRemote)).toEqual({ kind: 'podman', version: '5.2.1' });
    expect(engineOfVersion('/usr/bin/docker', dockerWithDaemon)).toEqual({ kind: 'docker', version: '28.2.2' });
  });

  it('does not take a Docker client whose daemon did not answer for an engine', () => {
    expect(engineOfVersion('/usr/local/bin/docker', dockerNoDaemon)).toEqual({ problem: '/usr/local/bin/docker version: no daemon answered' });
  });

  it('still takes an engine that answered in another shape', () => {
    expect(engineOfVersion('/opt/bin/podman', 'podman version 9')).toEqual({ kind: 'podman', version: 'unknown' });
    expect(engineOfVersion('/opt/bin/docker', 'Docker version 99')).toEqual({ kind: 'docker', version: 'unknown' });
  });
});

describe('finding the engine on PATH', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A folder holding executables that answer `version` as given and append each call to `calls`. */
  async function pathWith(candidates: Record<string, { exitCode: number; stdout: string; stderr?: string }>): Promise<{ dir: string; calls: () => Promise<string[]> }> {
    const dir = await mkdtemp(path.join(tmpdir(), 'gild-engine-test-'));
    dirs.push(dir);
    const log = path.join(dir, 'calls');
    await writeFile(log, '');
    for (const [name, answer] of Object.entries(candidates)) {
      const file = path.join(dir, name);
      await writeFile(file, `#!/bin/sh\necho "${name} $*" >> '${log}'\nprintf '%s\\n' '${answer.stdout}'\n${answer.stderr ? `printf '%s\\n' '${answer.stderr}' >&2\n` : ''}exit ${answer.exitCode}\n`);
      await chmod(file, 0o755);
    }
    return { dir, calls: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean) };
  }

  it("passes over a Docker client without a daemon, takes Podman's docker, and hands Packer Podman itself", async () => {
    const candidates = await pathWith({
      docker: { exitCode: 1, stdout: dockerNoDaemon, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' },
    });
    const podman = await pathWith({ docker: { exitCode: 0, stdout: podmanLocal, stderr: 'Emulate Docker CLI using podman.' }, podman: { exitCode: 0, stdout: podmanLocal } });
    const search = await findContainerEngine([candidates.dir, podman.dir].join(path.delimiter));
    if (search.found) dirs.push(search.found.dockerShimDir);
    expect(search.found).toMatchObject({ kind: 'podman', version: '4.3.1', binary: path.join(podman.dir, 'podman') });
    expect(search.tried).toEqual([`${path.join(candidates.dir, 'docker')} version failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?`]);
    expect(await candidates.calls()).toEqual(['docker version --format {{json .}}']);
    expect(await podman.calls()).toEqual(['docker version --format {{json .}}']);
  });

  it('asks once per PATH in a process, however many parts of a run need the engine', async () => {
    const podman = await pathWith({ podman: { exitCode: 0, stdout: podmanLocal } });
    const [first, second] = await Promise.all([findContainerEngine(podman.dir), findContainerEngine(podman.dir)]);
    const third = await findContainerEngine(podman.dir);
    if (first.found) dirs.push(first.found.dockerShimDir);
    expect(first.found?.kind).toBe('podman');
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(await podman.calls()).toEqual(['podman version --format {{json .}}']);
  });

  it('finds none when no candidate answers, and says what each said', async () => {
    const broken = await pathWith({
      docker: { exitCode: 1, stdout: dockerNoDaemon, stderr: 'Cannot connect to the Docker daemon' },
      // NOTE: what Podman 4.3 on this machine said, exit 125, when containers.conf named a runtime that is not there:
      // a local `podman version` opens its runtime and store, so it fails where `podman info` would.
      podman: { exitCode: 125, stdout: '', stderr: 'Error: default OCI runtime "crun-missing" not found: invalid argument' },
    });
    const search = await findContainerEngine(broken.dir);
    expect(search.found).toBeUndefined();
    expect(search.tried).toEqual([
      `${path.join(broken.dir, 'docker')} version failed: Cannot connect to the Docker daemon`,
      `${path.join(broken.dir, 'podman')} version failed: Error: default OCI runtime "crun-missing" not found: invalid argument`,
    ]);
    const empty = await pathWith({});
    expect(await findContainerEngine(empty.dir)).toEqual({ found: undefined, tried: ['no docker or podman on PATH'] });
  });

  it('tells an image that is not there from a Podman whose store cannot be read (image exists: exit 1, exit 125)', async () => {
    // NOTE: Podman 4.3 here: `podman image exists` exits 1 for an absent image, and 125 with this line when the store
    // could not be opened (run with --storage-driver naming a driver the store was not made with).
    const engines = await pathWith({
      podman: { exitCode: 125, stdout: '', stderr: 'Error: database storage graph driver "" does not match our storage graph driver "bogus": database configuration mismatch' },
    });
    const absent = await pathWith({ podman: { exitCode: 1, stdout: '' } });
    const answering = await pathWith({ podman: { exitCode: 0, stdout: '' }, docker: { exitCode: 1, stdout: '[]' } });
    const broken = path.join(engines.dir, 'podman');
    expect(await lookUpLocalImage({ kind: 'podman', binary: broken }, 'debian:12')).toEqual({
      present: false,
      problem: `${broken} image exists debian:12 failed: Error: database storage graph driver "" does not match our storage graph driver "bogus": database configuration mismatch`,
    });
    expect(await engines.calls()).toEqual(['podman image exists debian:12']);
    expect(await lookUpLocalImage({ kind: 'podman', binary: path.join(absent.dir, 'podman') }, 'debian:12')).toEqual({ present: false });
    expect(await lookUpLocalImage({ kind: 'podman', binary: path.join(answering.dir, 'podman') }, 'debian:12')).toEqual({ present: true });
    // Docker's image inspect exits 1 for an absent image and for a daemon gone: its daemon answered `docker version`.
    expect(await lookUpLocalImage({ kind: 'docker', binary: path.join(answering.dir, 'docker') }, 'debian:12')).toEqual({ present: false });
    expect(await answering.calls()).toEqual(['podman image exists debian:12', 'docker image inspect debian:12']);
  });
});
