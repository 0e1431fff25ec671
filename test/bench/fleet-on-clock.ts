/**
 * The fleet on AWS's clock: the twelve images of fleet-vs-packer.ts (three levels of four, each in three regions,
 * smoke-tested with one check) against moto behind the clock proxy (test/support/aws-clock-proxy.ts), so that an AMI
 * takes its minutes to be made, a copy its many more, a smoke instance its minutes to be usable. Side by side:
 * - Packer alone, level by level, copying with `ami_regions` (each `packer build` returns once its copies are
 *   available; it smoke-tests and publishes nothing);
 * - `gild run --force` with `regionCopies: 'gild'`: copies beside the smoke test, dependants from the tested AMI;
 * - the ideal schedule, computed from the model: the unavoidable waits along the dependency chain (three builds, the
 *   first two levels' smoke tests, then the last level's smoke test or its copies, whichever is longer).
 * Targets: gild within 1.05× the ideal, and at most 0.75× Packer alone.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { describeGildSnapshots, describeImages } from '../../src/adapters/ec2.ts';
import { getParameter, getParameters } from '../../src/adapters/ssm.ts';
import { createAwsClock, packerPollingEnv, type AwsClock } from '../support/aws-clock-model.ts';
import { startClockProxy } from '../support/aws-clock-proxy.ts';
import type { MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave, type Variant, type VariantResult } from './measure.ts';

const width = 4;
const levels = 3;
const rounds = 2;
/** AWS seconds per second: one AWS minute is one second. */
const scale = Number(process.env.GILD_BENCH_CLOCK_SCALE ?? '') || 60;
const idealTarget = 1.05;
const packerTarget = 0.75;
const buildRegion = 'us-east-1';
const copyRegions = ['us-west-2', 'eu-west-1'];
const regions = `{ build: '${buildRegion}', copies: [${copyRegions.map((region) => `'${region}'`).join(', ')}] }`;
const standInParameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
const imageName = (level: number, index: number) => `fleet-l${level}-${String.fromCharCode(97 + index)}`;

/**
 * The ideal night on the model, in ms: a build is a launch, a stop and the AMI's creation (Packer's steps with no
 * provisioner); a smoke test a launch, the later of status checks and agent registration, and its commands (the check
 * and the package manifest). A dependant can start once its base passed its smoke test; the last level publishes once
 * both its smoke test and its copies are done (the copies of earlier levels end sooner).
 */
export function idealScheduleMs(clock: AwsClock): { totalMs: number; buildMs: number; smokeMs: number; copyMs: number } {
  const buildMs = clock.ms('instancePending') + clock.ms('instanceStopping') + clock.ms('createImage');
  const smokeMs = clock.ms('instancePending') + Math.max(clock.ms('statusChecksInitializing'), clock.ms('agentRegistration')) + 2 * clock.ms('commandRun');
  const copyMs = clock.ms('copyImage');
  return { totalMs: levels * buildMs + (levels - 1) * smokeMs + Math.max(smokeMs, copyMs), buildMs, smokeMs, copyMs };
}

export async function benchmarkFleetOnClock(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  const clock = await startClockProxy(moto.motoEndpoint, { scale });
  defer(() => clock.stop());
  const images: Record<string, string> = {};
  for (let level = 1; level <= levels; level++) {
    for (let index = 0; index < width; index++) {
      const name = imageName(level, index);
      images[`${name}.ts`] = imageSource({
        name,
        regions,
        ...(level > 1 ? { base: `{ image: '${imageName(level - 1, index)}' }` } : {}),
        extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] },",
      });
    }
  }
  const shipped = await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8');
  const settings = shipped.replace(/concurrency: \d+,/, `concurrency: ${width},\n  regionCopies: 'gild',`);
  if (settings === shipped) throw new Error('pipeline/settings.ts has no concurrency line for the clock bench to set');
  const project = await createTempProject({ images, settings });
  defer(() => project.remove());
  // Both poll once a modelled minute: Packer cannot poll faster than 1 s (AWS_POLL_DELAY_SECONDS is whole seconds).
  const env = { ...clock.env(moto.env), ...packerPollingEnv(clock.clock), CI: 'true', GILD_COPY_POLL_MS: '1000', GILD_SMOKE_POLL_MS: '1000' };

  await moto.reset();
  const aws = createAwsClients(moto.env);
  const standIn = await getParameter(aws.ssm(buildRegion), standInParameter).finally(() => aws.destroy());
  if (!standIn) throw new Error(`moto has no ${standInParameter}`);
  const folders: string[][] = [];
  for (let level = 1; level <= levels; level++) {
    folders.push(
      await Promise.all(
        Array.from({ length: width }, async (_, index) => {
          const out = path.join(project.dir, 'packer-alone', imageName(level, index));
          const rendered = await project.gild(['render', imageName(level, index), '--out', out, '--base-ami', standIn.value, '--local-endpoint', clock.endpoint], env);
          if (rendered.exitCode !== 0) throw new Error(`gild render ${imageName(level, index)} failed: ${rendered.stderr}`);
          return out;
        }),
      ),
    );
  }

  // As in fleet-vs-packer.ts: every trial starts on an emulator whose regions have answered once (moto loads each
  // region's built-in AMIs on its first request there, which AWS never does), and a clock that remembers nothing.
  const resetAndWarm = async () => {
    await moto.reset();
    clock.reset();
    const clients = createAwsClients(moto.env);
    try {
      await Promise.all(
        [buildRegion, ...copyRegions].map(async (region) => {
          await getParameters(clients.ssm(region), [standInParameter]);
          await describeImages(clients.ec2(region), { filters: [{ Name: 'tag-key', Values: ['gild:image'] }] });
          await describeGildSnapshots(clients.ec2(region));
        }),
      );
    } finally {
      clients.destroy();
    }
  };

  const variants: Variant<void>[] = [
    {
      name: 'packer build with ami_regions, level by level',
      prepare: resetAndWarm,
      async run() {
        for (const level of folders) {
          await Promise.all(
            level.map(async (dir) => {
              const result = await execa('packer', ['build', '-machine-readable', '.'], { cwd: dir, env, reject: false });
              if (result.exitCode !== 0) throw new Error(`packer build in ${dir} failed:\n${String(result.stdout).slice(-2000)}`);
            }),
          );
        }
      },
    },
    {
      name: "gild run --force, regionCopies: 'gild'",
      prepare: resetAndWarm,
      async run() {
        const result = await project.gild(['run', '--force'], env);
        const published = (result.stdout.match(/published/g) ?? []).length;
        if (result.exitCode !== 0 || published < width * levels)
          throw new Error(`gild run --force did not publish all ${width * levels} images (exit ${result.exitCode}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`);
      },
    },
  ];
  const [packer, gild] = await interleave(variants, rounds);
  const ideal = idealScheduleMs(createAwsClock({ scale }));
  const idealVariant: VariantResult = { name: 'ideal schedule (from the model)', trials: [{ ms: ideal.totalMs, peakRss: 0 }], medianMs: ideal.totalMs, peakRss: 0 };
  const toIdeal = gild!.medianMs / ideal.totalMs;
  const toPacker = gild!.medianMs / packer!.medianMs;
  const awsMinutes = (ms: number) => `${(((ms / 1000) * scale) / 60).toFixed(0)} AWS min`;
  return {
    name: 'fleet-on-clock',
    title: `${width * levels} images, ${levels} levels, 3 regions, on AWS's clock (scale ${scale}: one AWS minute = ${(60 / scale).toFixed(2)} s; ${rounds} rounds)`,
    variants: [packer!, gild!, idealVariant],
    ratio: {
      label: 'gild / ideal schedule, and gild / Packer alone',
      value: toIdeal,
      target: `≤ ${idealTarget}× ideal and ≤ ${packerTarget}× Packer`,
      met: toIdeal <= idealTarget && toPacker <= packerTarget,
      shown: `${toIdeal.toFixed(2)}× ideal (${toIdeal <= idealTarget ? 'PASS' : 'WARN'}), ${toPacker.toFixed(2)}× Packer (${toPacker <= packerTarget ? 'PASS' : 'WARN'})`,
    },
    notes: [
      `on AWS that is: Packer alone ${awsMinutes(packer!.medianMs)}, gild ${awsMinutes(gild!.medianMs)}, ideal ${awsMinutes(ideal.totalMs)} (a build ${awsMinutes(ideal.buildMs)}, a smoke test ${awsMinutes(ideal.smokeMs)}, a copy ${awsMinutes(ideal.copyMs)})`,
      'Packer alone neither smoke-tests nor publishes; gild does both, and is still expected to finish first because its copies overlap the smoke tests and the next levels',
      'both poll once a modelled minute (Packer cannot poll faster than 1 s); the ideal schedule has no polling, no emulator round trips and no process start-up',
    ],
  };
}
