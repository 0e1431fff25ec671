/**
 * `gild verify` against moto after four kinds of drift made by hand: an
 * account added to an AMI's launch permissions, a snapshot made public, a
 * region's `latest` deleted, and a `versions/<v>` pointed at another image's
 * AMI. Each is reported with its region, resource and repair; `--repair`
 * prints the repairs as a plan, restores what the definition says, and a
 * second audit finds nothing.
 */
import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { DescribeImageAttributeCommand, DescribeImagesCommand, DescribeSnapshotAttributeCommand, ModifyImageAttributeCommand, ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReportSchema } from '../../src/report/report-schema.ts';
import type { AuditResult } from '../../src/report/audit-images.ts';
import { awsClients, parametersUnder } from '../support/aws-state.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

describe('gild verify', () => {
  const emulator = useMotoBehindFaultProxy();

  it('reports each drift with its region, resource and repair, and --repair restores the definition', async () => {
    const project = await createTempProject({
      images: {
        'web.ts': imageSource({ name: 'web', extra: "launchPermissions: { accounts: ['111122223333'] }," }),
        'api.ts': imageSource({ name: 'api', regions: "{ build: 'us-east-1' }" }),
      },
    });
    const env = emulator.moto.env;
    try {
      expect((await project.gild(['run'], env)).exitCode).toBe(0);
      // gild shares the AMIs and their snapshots itself after the smoke test (the share step): a normal run leaves no drift.
      const clean = await project.gild(['verify'], env);
      expect({ exitCode: clean.exitCode, stdout: clean.stdout }).toEqual({ exitCode: 0, stdout: expect.stringMatching(/^verified api, web: every pointer names/) });

      const east = await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden');
      const west = await parametersUnder(emulator.moto.endpoint, 'us-west-2', '/golden');
      const webAmi = east['/golden/web/versions/1.0.0']!;
      const apiAmi = east['/golden/api/versions/1.0.0']!;
      const { ec2, ssm } = awsClients(emulator.moto.endpoint, 'us-east-1');
      const { ssm: ssmWest } = awsClients(emulator.moto.endpoint, 'us-west-2');
      const image = await ec2.send(new DescribeImagesCommand({ ImageIds: [webAmi] }));
      const snapshotId = image.Images![0]!.BlockDeviceMappings!.find((mapping) => mapping.Ebs?.SnapshotId)!.Ebs!.SnapshotId!;
      await ec2.send(new ModifyImageAttributeCommand({ ImageId: webAmi, LaunchPermission: { Add: [{ UserId: '444455556666' }] } }));
      await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', GroupNames: ['all'] }));
      await ssmWest.send(new DeleteParameterCommand({ Name: '/golden/web/latest' }));
      await ssm.send(new PutParameterCommand({ Name: '/golden/web/versions/1.0.0', Value: apiAmi, Type: 'String', Overwrite: true }));

      const audit = await project.gild(['verify', '--json'], env);
      expect(audit.exitCode).toBe(1);
      const findings = (JSON.parse(audit.stdout) as AuditResult).findings.map(({ region, resource, difference, repairCommand }) => ({ region, resource, difference, repairCommand }));
      expect(findings).toEqual(
        expect.arrayContaining([
          { region: 'us-east-1', resource: webAmi, difference: 'account 444455556666 may launch it, but the definition does not say so', repairCommand: 'gild verify --repair' },
          {
            region: 'us-east-1',
            resource: `${snapshotId} (snapshot of ${webAmi})`,
            difference: 'everyone (public) may create volumes from it, but the definition does not say so',
            repairCommand: 'gild verify --repair',
          },
          { region: 'us-west-2', resource: '/golden/web/latest', difference: `missing (it should name 1.0.0, ${west['/golden/web/latest']})`, repairCommand: 'gild verify --repair' },
          { region: 'us-east-1', resource: '/golden/web/versions/1.0.0', difference: `names ${apiAmi}, an AMI of api 1.0.0`, repairCommand: 'gild verify --repair' },
        ]),
      );
      expect(findings).toHaveLength(4);
      const text = await project.gild(['verify'], env);
      expect(text.stdout).toContain(`web us-east-1 /golden/web/versions/1.0.0: names ${apiAmi}, an AMI of api 1.0.0\n      repair: gild verify --repair`);

      const repair = await project.gild(['verify', '--repair'], env);
      expect(repair.exitCode).toBe(0);
      expect(repair.stdout).toContain('Repair plan (4 steps):');
      expect(repair.stdout).toContain(`us-east-1 set /golden/web/versions/1.0.0 = ${webAmi} (now ${apiAmi}; only if it still is)`);
      expect(repair.stdout).toContain(`us-east-1 ${webAmi} launch permissions: remove 444455556666`);
      expect(repair.stdout).toMatch(/After repair: verified api, web/);
      // The repairs are plan steps under web's lock, applied by the runner, with a report like every changing command's.
      expect(repair.stdout).toContain('~ web: restore what the definition says: 3 repairs of the drift gild verify found');
      expect(repair.stdout).toContain(`move versions/1.0.0 to 1.0.0: us-east-1 ${webAmi}`);
      const reportFile = /Report: (\S+report\.md) \(JSON: (\S+report\.json)\)/.exec(repair.stdout);
      expect(reportFile, repair.stdout).not.toBeNull();
      const report = runReportSchema.parse(JSON.parse(await readFile(path.join(project.dir, reportFile![2]!), 'utf8')));
      expect(report).toMatchObject({ commandName: 'verify', result: 'succeeded', images: [{ image: 'web', action: 'change' }] });
      const runLog = await readFile(path.join(path.dirname(path.join(project.dir, reportFile![2]!)), 'web.log'), 'utf8');
      expect(runLog).toMatch(/lock:web: lock web[\s\S]*repoint:web:versions\/1\.0\.0:us-east-1[\s\S]*release:web: release the lock of web/);
      expect((await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden'))['/golden/web/lock']).toBeUndefined();

      expect((await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden'))['/golden/web/versions/1.0.0']).toBe(webAmi);
      expect(await parametersUnder(emulator.moto.endpoint, 'us-west-2', '/golden')).toEqual(west);
      const permissions = await ec2.send(new DescribeImageAttributeCommand({ ImageId: webAmi, Attribute: 'launchPermission' }));
      expect(permissions.LaunchPermissions).toEqual([{ UserId: '111122223333' }]);
      const volumes = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }));
      expect(volumes.CreateVolumePermissions?.some((permission) => permission.Group === 'all')).toBe(false);
      expect((await project.gild(['verify'], env)).exitCode).toBe(0);
    } finally {
      await project.remove();
    }
  });
});
