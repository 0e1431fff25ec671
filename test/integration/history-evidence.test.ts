/**
 * `gild history` with an evidence bucket in the settings: each version's SBOM link, package count and run, read from
 * the bucket, and the smoke verdict it stands for (only a passing version's SBOM is stored) — evidence that outlives
 * the AMI and its tags. A version with no SBOM says where none was found. The state another machine's runs left is
 * written directly, so that what history must find is known.
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/s3.ts';
import { cycloneDxSbom } from '../../src/smoke/cyclonedx-sbom.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

let moto: MotoServer;
let project: TempProject;
beforeAll(async () => {
  moto = await startMoto();
  project = await createTempProject({
    images: { 'web.ts': imageSource({ name: 'web', version: '1.1.0', regions: "{ build: 'us-east-1' }" }) },
    settings: "import { defineSettings } from 'gild';\nexport default defineSettings({ evidence: { bucket: 'evidence' } });\n",
  });
  const ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const s3 = createS3Client('us-east-1', moto.env);
  try {
    for (const [name, value] of [
      ['/golden/web/versions/1.0.0', 'ami-10000000'],
      ['/golden/web/versions/1.1.0', 'ami-11000000'],
    ] as const)
      await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
    const sbom = cycloneDxSbom(
      { image: 'web', version: '1.1.0', runId: 'run-elsewhere', amiId: 'ami-11000000', preset: 'debian-12', packageManifestCommand: 'dpkg-query -W', createdAt: new Date() },
      'busybox 1:1.35.0-4\ntree 2.1.0-1\n',
    );
    await s3.send(new PutObjectCommand({ Bucket: 'evidence', Key: 'gild/evidence/web/1.1.0/sbom.cdx.json', Body: JSON.stringify(sbom) }));
  } finally {
    ssm.destroy();
    s3.destroy();
  }
});
afterAll(async () => {
  await project?.remove();
  await moto?.stop();
});

describe('gild history with an evidence bucket', () => {
  it("shows each version's stored SBOM and the verdict it stands for, and says where none is stored", async () => {
    const shown = await project.gild(['history', 'web', '--json'], moto.env);
    expect(shown.exitCode, shown.stderr).toBe(0);
    const { versions } = JSON.parse(shown.stdout) as { versions: { version: string; smoke: string; evidence?: Record<string, unknown> }[] };
    expect(versions.map((version) => [version.version, version.smoke, version.evidence])).toEqual([
      ['1.1.0', 'passed', { sbom: 's3://evidence/gild/evidence/web/1.1.0/sbom.cdx.json', packages: 2, runId: 'run-elsewhere', amiId: 'ami-11000000' }],
      ['1.0.0', 'unknown', { reason: 'no SBOM stored at s3://evidence/gild/evidence/web/1.0.0/sbom.cdx.json' }],
    ]);
    const text = await project.gild(['history', 'web'], moto.env);
    expect(text.stdout).toContain('Evidence (s3://evidence/gild/evidence/):');
    expect(text.stdout).toContain('  1.1.0  smoke passed; SBOM s3://evidence/gild/evidence/web/1.1.0/sbom.cdx.json (2 packages, run run-elsewhere, ami-11000000)');
    expect(text.stdout).toContain('  1.0.0  no SBOM stored at s3://evidence/gild/evidence/web/1.0.0/sbom.cdx.json');
  });
});
