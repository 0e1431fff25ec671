/**
 * Packer's process group and gild's interrupts, with the real Packer: a
 * shell-local provisioner that sleeps stands for a long build, and its
 * `sleep` is the process that must not outlive the interrupt.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packerBuild } from '../../src/adapters/packer.ts';
import { repoRoot } from '../support/project.ts';

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-packer-signals-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** A build that runs until it is stopped, and says so in its log once it is running. */
async function longBuild(name: string): Promise<{ dir: string; logFile: string }> {
  const dir = await mkdtemp(path.join(workDir, `${name}-`));
  await writeFile(
    path.join(dir, 'build.pkr.hcl'),
    `source "null" "x" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.x"]\n  provisioner "shell-local" {\n    inline = ["echo gild-build-running", "exec sleep 600"]\n  }\n}\n`,
  );
  return { dir, logFile: path.join(dir, 'packer.log') };
}

/** Resolves once the log holds `text`: the event the test waits for. */
async function logShows(logFile: string, text: string): Promise<void> {
  for (;;) {
    if ((await readFile(logFile, 'utf8').catch(() => '')).includes(text)) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function groupMembers(processGroup: number): Promise<string[]> {
  const { stdout } = await execa('ps', ['-o', 'pid=,comm=', '-g', String(processGroup)], { reject: false });
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Resolves once no process is left in the group (killed processes take a moment to be reaped); the test's timeout bounds it. */
async function groupEnds(processGroup: number): Promise<true> {
  while ((await groupMembers(processGroup)).length > 0) await new Promise((resolve) => setImmediate(resolve));
  return true;
}

describe('packerBuild and interrupts', () => {
  it('runs Packer in its own process group and interrupts the whole group on abort', async () => {
    const { dir, logFile } = await longBuild('abort');
    const controller = new AbortController();
    let processGroup = 0;
    const build = packerBuild({ dir, logFile, env: process.env, signal: controller.signal, graceMs: 30_000, onStart: (group) => (processGroup = group) });
    await logShows(logFile, 'gild-build-running');
    expect(await groupMembers(processGroup)).toEqual(expect.arrayContaining([expect.stringMatching(/sleep$/)]));

    controller.abort();

    expect(await build).toEqual({ ok: false, reason: 'the build was interrupted' });
    expect(await groupEnds(processGroup)).toBe(true);
  });

  it('escalates to SIGTERM and SIGKILL of the group at once on a second interrupt', async () => {
    const { dir, logFile } = await longBuild('escalate');
    const [controller, escalation] = [new AbortController(), new AbortController()];
    let processGroup = 0;
    const build = packerBuild({ dir, logFile, env: process.env, signal: controller.signal, escalate: escalation.signal, graceMs: 600_000, killAfterMs: 0, onStart: (group) => (processGroup = group) });
    await logShows(logFile, 'gild-build-running');
    controller.abort();
    escalation.abort();

    expect(await build).toMatchObject({ ok: false });
    expect(await groupEnds(processGroup)).toBe(true);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('leaves no Packer process behind when gild exits on %s sent to its pid only', async (signal) => {
    const { dir, logFile } = await longBuild(`exit-${signal}`);
    // A stand-in for gild: runs a build and exits on the signal without waiting, as gild does on a second interrupt.
    const script = path.join(dir, 'gild-stand-in.ts');
    await writeFile(
      script,
      `import { packerBuild } from ${JSON.stringify(path.join(repoRoot, 'src/adapters/packer.ts'))};\n` +
        `process.on(${JSON.stringify(signal)}, () => process.exit(130));\n` +
        `await packerBuild({ dir: ${JSON.stringify(dir)}, logFile: ${JSON.stringify(logFile)}, env: process.env, onStart: (group) => console.log('group', group) });\n`,
    );
    const standIn = execa('node', ['--import', 'jiti/register', script], { cwd: repoRoot, reject: false });
    await logShows(logFile, 'gild-build-running');

    standIn.kill(signal);
    const result = await standIn;

    expect(result.exitCode).toBe(130);
    const group = Number(/group (\d+)/.exec(String(result.stdout))?.[1]);
    expect(group).toBeGreaterThan(0);
    expect(await groupEnds(group)).toBe(true);
  });
});
