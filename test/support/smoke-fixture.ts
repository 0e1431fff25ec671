/**
 * Fixtures for the smoke stage's tests: a ResolvedImage (the shared fixture)
 * with a smoke section, an ImageRun whose deferred cleanups can be inspected,
 * and an AMI registered in moto as gild's build would leave it.
 */
import { CreateImageCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { join } from 'node:path';
import type { Context } from '../../src/context.ts';
import type { ResolvedImage, ResolvedSmoke } from '../../src/definition/resolved-image.ts';
import { resolvedImageFixture } from './resolved-image-fixture.ts';
import type { SmokeCheck } from '../../src/definition/schema.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { ImageRun } from '../../src/stages/stage.ts';

export type CheckInput = Partial<SmokeCheck> & { name: string; run: string | string[] };

export function smokeCheck(input: CheckInput): SmokeCheck {
  return { expectExitCode: 0, ...input } as SmokeCheck;
}

export function smokeImage(options: { name?: string; region?: string; checks?: CheckInput[]; smoke?: Partial<ResolvedSmoke> } = {}): ResolvedImage {
  const region = options.region ?? 'us-east-1';
  const base = resolvedImageFixture({
    name: options.name ?? 'web',
    buildRegion: region,
    base: { kind: 'ami', amis: { [region]: 'ami-1e749f67' } },
    preset: 'ubuntu-24.04',
    packageManifestCommand: "dpkg-query -W -f='${Package} ${Version}\\n' | sort",
  });
  return {
    ...base,
    smoke: {
      ...base.smoke,
      checkTimeoutSeconds: 30,
      timeoutSeconds: 120,
      checks: (options.checks ?? [{ name: 'nginx answers', run: 'curl -fsS localhost' }]).map(smokeCheck),
      packageManifest: false,
      ...options.smoke,
    },
  };
}

export interface TestRun extends ImageRun {
  readonly logger: ReturnType<typeof createMemoryLogger>;
  /** Cleanups registered and not undone: what a SIGINT would run. */
  readonly pendingCleanups: Map<number, { description: string; cleanup: () => Promise<void> }>;
  readonly abort: AbortController;
}

export function smokeRun(image: ResolvedImage, options: { logDir: string; amis: Record<string, string>; currentVersion?: string; nextVersion?: string }): TestRun {
  const pendingCleanups = new Map<number, { description: string; cleanup: () => Promise<void> }>();
  let nextId = 0;
  const abort = new AbortController();
  return {
    image,
    version: options.nextVersion ?? '1.0.0',
    currentVersion: options.currentVersion,
    amis: options.amis,
    snapshots: {},
    logger: createMemoryLogger(),
    logFile: join(options.logDir, `${image.name}.log`),
    logDir: options.logDir,
    signal: abort.signal,
    abort,
    defer(description, cleanup) {
      const id = nextId++;
      pendingCleanups.set(id, { description, cleanup });
      return () => pendingCleanups.delete(id);
    },
    pendingCleanups,
    summary: [],
  };
}

/** An AMI as gild's build leaves it: made by this run, tagged with its run id, image and version (1.0.0, smokeRun's). */
export async function registerBuiltAmi(ec2: EC2Client, context: Pick<Context, 'runId'>, imageName: string): Promise<string> {
  const launched = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-1e749f67', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const instanceId = launched.Instances![0]!.InstanceId!;
  const created = await ec2.send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: `${imageName}-${Date.now()}`,
      TagSpecifications: [
        {
          ResourceType: 'image',
          Tags: [
            { Key: 'gild:run-id', Value: context.runId },
            { Key: 'gild:image', Value: imageName },
            { Key: 'gild:version', Value: '1.0.0' },
          ],
        },
      ],
    }),
  );
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  return created.ImageId!;
}
