/**
 * `gild unlock` through the real CLI on moto: a plan like every change (shown, `--dry-run` stops there, `--yes`
 * confirms), applied by the runner (its writes are made inside its steps: the step ledger of this suite fails any
 * other), and a report (report.json, report.md) saying what it did. Locks are written by the test, as a run on
 * another machine would leave them; no image is built.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatLease } from '../../src/observe/parse-lease.ts';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { awsClients, parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { stepLedger } from '../support/step-ledger.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const lockName = '/golden/web/lock';
const minute = 60_000;
const leaseOf = (expiresInMs: number) =>
  formatLease({
    runId: '20261129T110000Z-other0',
    host: 'ci-runner-7',
    pid: 777,
    takenAt: new Date(Date.now() - 30 * minute).toISOString(),
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  });

describe('gild unlock', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }" }) } });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, moto.env);
    expect(result.stderr + result.stdout).not.toMatch(/internal error|\n\s+at /);
    return result;
  };
  const lock = async (value: string) => awsClients(moto.endpoint).ssm.send(new PutParameterCommand({ Name: lockName, Value: value, Type: 'String' }));
  const parameters = () => parametersUnder(moto.endpoint, 'us-east-1', '/golden/web');

  it('removes a stale lock as a plan: shown by --dry-run, refused without --yes, applied with a report, and then says there is nothing to do', async () => {
    const stale = leaseOf(-minute);
    await lock(stale);

    const dryRun = await gild(['unlock', 'web', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/^Unlock plan \S+:\n~ web: remove \/golden\/web\/lock in us-east-1, held by run 20261129T110000Z-other0 \(pid 777 on ci-runner-7, .*\): it expired at/);
    expect(dryRun.stdout).toContain('    unlock /golden/web/lock (stale lease of run 20261129T110000Z-other0) — remove the lock held by run 20261129T110000Z-other0');
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    expect((await parameters())[lockName]).toBe(stale);

    const unconfirmed = await gild(['unlock', 'web']);
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stdout).toContain('unlock /golden/web/lock (stale lease of run 20261129T110000Z-other0)');
    expect(unconfirmed.stderr).toMatch(/\/golden\/web\/lock is held by run 20261129T110000Z-other0 .*\(it expired at .*\)\. Run `gild unlock web --yes` to remove it\./);
    expect((await parameters())[lockName]).toBe(stale);

    const writesBefore = stepLedger.writes.length;
    const removed = await gild(['unlock', 'web', '--yes', '--json']);
    expect(removed.exitCode, removed.stdout + removed.stderr).toBe(0);
    // Every write to the lock was made inside a runner step: the take-over (its claim, then the lock) and the release
    // that removes it. (The emulator's preparation, the same for every command, makes its instance profile first.)
    const writes = stepLedger.writes.slice(writesBefore).filter((write) => write.operation.startsWith('ssm:'));
    expect(new Set(writes.map((write) => write.madeBy))).toEqual(new Set(['step unlock:web', 'step release:web']));
    expect(writes.filter((write) => write.madeBy === 'step release:web')).toEqual([{ operation: 'ssm:DeleteParameter', madeBy: 'step release:web' }]);
    expect(removed.stderr).toContain('✔ removed /golden/web/lock in us-east-1.');
    expect(await parameters()).toEqual({});
    const report = runReportSchema.parse(JSON.parse(removed.stdout));
    expect(report).toMatchObject({ commandName: 'unlock', command: 'gild unlock web --yes --json', result: 'succeeded', counts: { changed: 1 } });
    expect(report.images[0]!.steps.map((step) => [step.id, step.status])).toEqual([
      ['unlock:web', 'done'],
      ['release:web', 'done'],
    ]);
    const runDir = path.join(project.dir, '.gild/runs', report.runId);
    expect(runReportSchema.parse(JSON.parse(await readFile(path.join(runDir, 'report.json'), 'utf8')))).toEqual(report);
    expect(await readFile(path.join(runDir, 'report.md'), 'utf8')).toContain(`## gild unlock \`${report.runId}\`: succeeded`);

    const again = await gild(['unlock', 'web', '--yes']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim()).toBe('web is not locked (/golden/web/lock does not exist in us-east-1).');
  });

  it('refuses a lease whose owner may still be working, and removes it with --force', async () => {
    const live = leaseOf(10 * minute);
    await lock(live);
    const refused = await gild(['unlock', 'web', '--yes']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(
      /\/golden\/web\/lock is held by run 20261129T110000Z-other0 .*, which may still be working\. Wait for it; if you know it is gone, run `gild unlock web --yes --force`\./,
    );
    expect((await parameters())[lockName]).toBe(live);

    const forced = await gild(['unlock', 'web', '--yes', '--force']);
    expect(forced.exitCode, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stdout).toContain('unlock /golden/web/lock (lease of run 20261129T110000Z-other0) — remove the lock held by run');
    expect(forced.stdout).toContain('✔ removed /golden/web/lock in us-east-1.');
    expect(await parameters()).toEqual({});
  });

  it('removes a lock that is not a gild lease with --yes, as the run’s refusal says to', async () => {
    await lock('maintenance: do not build (ops)');
    const plan = await gild(['plan']);
    expect(plan.stdout).toContain('which is not a gild lease. If no run is working on it, remove it with `gild unlock web --yes`.');

    const removed = await gild(['unlock', 'web', '--yes']);
    expect(removed.exitCode, removed.stdout + removed.stderr).toBe(0);
    expect(removed.stdout).toContain('unlock /golden/web/lock (not a gild lease) — remove the lock held by "maintenance: do not build (ops)"');
    expect(await parameters()).toEqual({});
  });
});
