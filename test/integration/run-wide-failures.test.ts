/**
 * A run-wide step that fails, through the real CLI against moto and real
 * Packer: a dead run's key pair that AWS will not delete (the fault proxy
 * answers every DeleteKeyPair of that key pair with a 500, past the SDK's
 * retries). The image is still built and published, and the run fails (exit 1)
 * naming the sweep and its error in the summary and the report.
 *
 * NOTE: only the dead run's key pair is refused: Packer's own DeleteKeyPair of
 * its temporary key pair goes through, or Packer's SDK retries it 11 times with
 * backoff (some 50 s of waiting) before the build goes on.
 */
import { CreateKeyPairCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

describe('a failed run-wide sweep', () => {
  const emulator = useMotoBehindFaultProxy();

  it('fails the run, named with its error, while the image is still published', { timeout: 300_000 }, async () => {
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }" }) } });
    try {
      const ec2 = new EC2Client({ region: 'us-east-1', endpoint: emulator.moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      // Named as Packer's key pairs are, by a run whose lease on web expired long ago: that run is gone.
      const deadKeyPair = 'gild_20261101T000000Z-old000_web';
      await ec2.send(new CreateKeyPairCommand({ KeyName: deadKeyPair }));
      ec2.destroy();
      const ssm = new SSMClient({ region: 'us-east-1', endpoint: emulator.moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const deadLease = { runId: '20261101T000000Z-old000', host: 'ci-gone', pid: 7, takenAt: '2026-11-01T00:00:00.000Z', expiresAt: '2026-11-01T00:15:00.000Z' };
      await ssm.send(new PutParameterCommand({ Name: '/golden/web/lock', Value: JSON.stringify(deadLease), Type: 'String' }));
      ssm.destroy();
      emulator.proxy.setRules({ serverErrors: { ec2: { actions: ['DeleteKeyPair'], bodyIncludes: `KeyName=${deadKeyPair}`, first: 1000, maxConsecutive: 1000 } } });

      const result = await project.gild(['run', '--json'], emulator.proxy.env(emulator.moto.env));

      expect(result.exitCode, result.stderr).toBe(1);
      expect(emulator.proxy.calls).toContainEqual(expect.objectContaining({ service: 'ec2', action: 'DeleteKeyPair', fault: 'server-error' }));
      expect(result.stderr).toMatch(/✖ sweep:us-east-1:\S+ failed: /);
      expect(result.stderr).toMatch(/1 run-wide step failed: sweep:us-east-1:\S+\. The images' own steps went on/);
      const report = runReportSchema.parse(JSON.parse(result.stdout));
      expect(report.result).toBe('failed');
      expect(report.images.map((image) => [image.image, image.result])).toEqual([['web', 'published']]);
      expect(report.runSteps).toEqual([expect.objectContaining({ kind: 'sweep', status: 'failed', outcome: expect.stringContaining('gild_20261101T000000Z-old000_web') })]);
      const markdown = await readFile(path.join(project.dir, '.gild/runs', report.runId, 'report.md'), 'utf8');
      expect(markdown).toContain('### ✖ failed: run-wide steps');
    } finally {
      await project.remove();
    }
  });
});
