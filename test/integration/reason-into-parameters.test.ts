/**
 * `--reason` reaches Parameter Store (the hold a rollback writes, the version ledger, the version's status), whose
 * PutParameter refuses a value over 4 KB (8 KB Advanced) or with {{ }} in it. moto checks neither; the wire check
 * (test/support/aws-model-check.ts) now does, in every test. Before, a 5,000-character rollback reason was written
 * as two 5,125-byte holds and a revoke reason with {{ }} into the ledger and the status: all three fail on AWS.
 */
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients, parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

describe('--reason into Parameter Store', () => {
  let moto: MotoServer;
  let project: TempProject;
  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'api.ts': imageSource({ name: 'api', regions: "{ build: 'us-east-1' }" }) } });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });
  const gild = (args: string[]) => project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
  const values = () => parametersUnder(moto.endpoint, 'us-east-1', '/golden/api');

  it('refuses a reason Parameter Store could not hold (exit 2, what and how to fix), before anything is written', async () => {
    expect((await gild(['run', 'api'])).exitCode).toBe(0);
    expect((await gild(['run', 'api', '--force'])).exitCode).toBe(0);
    const before = await values();

    const rollback = await gild(['rollback', 'api', '--reason', `kernel panic ${'x'.repeat(5000)}`]);
    expect(rollback.exitCode).toBe(2);
    expect(rollback.stderr).toContain(
      "gild: --reason: is 5,013 characters; gild records it in Parameter Store (the hold, the version ledger, the version's status), where it keeps at most 300. Shorten it to 300 characters, and name a ticket or advisory for the details.",
    );
    const revoke = await gild(['revoke', 'api', '1.0.1', '--reason', 'SSTI via {{ .Name }} in the motd']);
    expect(revoke.exitCode).toBe(2);
    expect(revoke.stderr).toContain('gild: --reason: contains "{{", which Parameter Store refuses in a parameter value');
    const restore = await gild(['restore', 'api', '1.0.1', '--reason', '   ']);
    expect(restore.exitCode).toBe(2);
    expect(restore.stderr).toContain('gild: --reason: is empty.');
    expect(`${rollback.stderr}${revoke.stderr}${restore.stderr}`).not.toMatch(/\n\s+at /);
    expect(await values()).toEqual(before);
  });

  it('records a reason of the most characters it keeps, within what AWS allows, in a ledger written Intelligent-Tiering', async () => {
    const reason = `CVE-2026-0001 { {braces} } ${'y'.repeat(300)}`.slice(0, 300);
    const rollback = await gild(['rollback', 'api', '--reason', reason]);
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(0);
    const revoke = await gild(['revoke', 'api', '1.0.1', '--reason', reason]);
    expect(revoke.exitCode, revoke.stdout + revoke.stderr).toBe(0);
    const all = await values();
    expect(JSON.parse(all['/golden/api/holds/latest']!).reason).toBe(reason);
    expect(JSON.parse(all['/golden/api/ledger']!).revoked['1.0.1'].reason).toBe(reason);
    expect(Object.values(all).filter((value) => Buffer.byteLength(value) > 4096 || value.includes('{{'))).toEqual([]);
    // moto keeps the Tier the request named (AWS would answer Standard here: the ledger fits 4 KB).
    const { ssm } = awsClients(moto.endpoint, 'us-east-1');
    const ledger = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: ['/golden/api/ledger'] }] }));
    expect(ledger.Parameters?.[0]?.Tier).toBe('Intelligent-Tiering');
  });
});
