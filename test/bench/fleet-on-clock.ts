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
import { readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { describeGildSnapshots, describeImages } from '../../src/adapters/ec2.ts';
import { getParameter, getParameters } from '../../src/adapters/ssm.ts';
import { createAwsClock, defaultImageGiB, fleetClockPhaseAwsSeconds, fleetClockScale, gildPollingEnv, packerPollingEnv, type AwsClock } from '../support/aws-clock-model.ts';
import { startClockProxy } from '../support/aws-clock-proxy.ts';
import type { MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave, type Variant, type VariantResult } from './measure.ts';

const width = 4;
const levels = 3;
const rounds = Number(process.env.GILD_BENCH_CLOCK_ROUNDS ?? '') || 2;
const scale = Number(process.env.GILD_BENCH_CLOCK_SCALE ?? '') || fleetClockScale;
const phaseAwsSeconds = process.env.GILD_BENCH_CLOCK_PHASE ? Number(process.env.GILD_BENCH_CLOCK_PHASE) : fleetClockPhaseAwsSeconds;
/** The clock the proxy keeps, and the ideal and the critical chain are computed on. */
const clockOptions = { scale, phaseAwsSeconds };
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
 * and the package manifest, which run side by side: src/smoke/test-instance.ts, so one command's time). A dependant can start once its base passed its smoke test; the last level publishes once
 * both its smoke test and its copies are done (the copies of earlier levels end sooner).
 */
export function idealScheduleMs(clock: AwsClock): { totalMs: number; buildMs: number; smokeMs: number; copyMs: number } {
  const buildMs = clock.ms('instancePending') + clock.ms('instanceStopping') + clock.ms('createImage', defaultImageGiB);
  const smokeMs = clock.ms('instancePending') + Math.max(clock.ms('statusChecksInitializing'), clock.ms('agentRegistration')) + clock.ms('commandRun');
  const copyMs = clock.ms('copyImage', defaultImageGiB);
  return { totalMs: levels * buildMs + (levels - 1) * smokeMs + Math.max(smokeMs, copyMs), buildMs, smokeMs, copyMs };
}

export async function benchmarkFleetOnClock(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  // NOTE: every AMI at the size the ideal is computed for: moto says 15 GiB for every AMI it makes, whatever the volumes
  // (the images ask for none: an Amazon Linux 2023 root volume is 8 GiB), and an ideal for one size measured against a
  // clock of another says nothing (until 2026-12-07 the clock modelled 15 GiB against an ideal of 8).
  const clock = await startClockProxy(moto.motoEndpoint, { ...clockOptions, imageGiB: defaultImageGiB });
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
  // Each polls as it does on AWS, scaled: Packer every 15 AWS seconds (but never under its 1 s floor), gild a copy every
  // 15 AWS seconds and a smoke command or instance every 3.
  const env = { ...clock.env(moto.env), ...packerPollingEnv(clock.clock), ...gildPollingEnv(clock.clock), CI: 'true' };

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

  const chain = { last: '', sizes: '' };
  const loads: number[] = [];
  const variants: Variant<void>[] = [
    {
      name: 'packer build with ami_regions, level by level',
      prepare: async () => {
        loads.push(os.loadavg()[0]!);
        await resetAndWarm();
      },
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
        const startedAt = Date.now();
        const result = await project.gild(['run', '--force'], env);
        chain.last = await criticalChain(project.dir, startedAt, createAwsClock(clockOptions));
        const modelled = [...clock.images.values()];
        chain.sizes = `${modelled.filter((image) => image.kind === 'createImage').length} AMIs made and ${modelled.filter((image) => image.kind === 'copyImage').length} copied, modelled at ${[...new Set(modelled.map((image) => image.sizeGiB))].join(', ')} GiB`;
        const published = (result.stdout.match(/published/g) ?? []).length;
        if (result.exitCode !== 0 || published < width * levels)
          throw new Error(`gild run --force did not publish all ${width * levels} images (exit ${result.exitCode}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-2000)}`);
      },
    },
  ];
  const [packer, gild] = await interleave(variants, rounds);
  const ideal = idealScheduleMs(createAwsClock(clockOptions));
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
      `each polls as on AWS, scaled: Packer every ${env.AWS_POLL_DELAY_SECONDS} s (${Number(env.AWS_POLL_DELAY_SECONDS) * scale} AWS s; AWS's is 15, and Packer's floor is 1 s), gild a copy every ${env.GILD_COPY_POLL_MS} ms and a smoke command or instance every ${env.GILD_SMOKE_POLL_MS} ms; the ideal schedule has no polling, no emulator round trips and no process start-up`,
      `every modelled wait is the table's figure plus ${phaseAwsSeconds} AWS s, in the clock and the ideal alike: the table's figures are multiples of 15 AWS s, so a poll every 15 would land just as a wait ends, where on AWS it lands half a poll later on average${phaseAwsSeconds === fleetClockPhaseAwsSeconds ? ` (${fleetClockPhaseAwsSeconds} s: polls every 15 AWS s then cost what they cost on AWS on average)` : ''}`,
      `the clock, last gild round: ${chain.sizes} (the ideal's size)`,
      `gild's critical chain, last round (s from its start; model in brackets): ${chain.last}`,
      `load average (1 min) at the start of each round: ${loads.map((load) => load.toFixed(1)).join(', ')}`,
    ],
  };
}

/**
 * Where the last gild run's time went along its critical chain: the image whose publish ended last, and its bases
 * down to the first level. Each step's start is its stamped log line, its end that plus the report's duration; the
 * model's time for it (what the ideal counts) is beside it.
 */
async function criticalChain(dir: string, startedAt: number, clock: AwsClock): Promise<string> {
  const runs = path.join(dir, '.gild', 'runs');
  const folders = await readdir(runs);
  const newest = (await Promise.all(folders.map(async (folder) => ({ folder, at: (await stat(path.join(runs, folder))).mtimeMs })))).sort((a, b) => b.at - a.at)[0];
  if (!newest) return '(no run folder)';
  const runDir = path.join(runs, newest.folder);
  const report = JSON.parse(await readFile(path.join(runDir, 'report.json'), 'utf8')) as { images: { image: string; steps: { id: string; kind: string; durationMs?: number }[] }[] };
  const starts = new Map<string, number>();
  for (const file of (await readdir(runDir)).filter((name) => name.endsWith('.log'))) {
    for (const line of (await readFile(path.join(runDir, file), 'utf8')).split('\n')) {
      const stamped = /^(\S+) \w+ ([a-z-]+:[\w.-]+(?::[\w-]+)?): /.exec(line);
      if (stamped && !starts.has(stamped[2]!)) starts.set(stamped[2]!, Date.parse(stamped[1]!));
    }
  }
  const span = (id: string) => {
    const step = report.images.flatMap((image) => image.steps).find((candidate) => candidate.id === id);
    const start = starts.get(id);
    return step?.durationMs !== undefined && start !== undefined ? { start: start - startedAt, end: start - startedAt + step.durationMs } : undefined;
  };
  const publishEnd = (image: string) => span(`publish:${image}`)?.end ?? 0;
  const last = report.images.map((image) => image.image).sort((a, b) => publishEnd(b) - publishEnd(a))[0];
  if (!last) return '(no image)';
  const ideal = idealScheduleMs(clock);
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const shown = (id: string, modelMs?: number) => {
    const times = span(id);
    return times ? `${id.split(':').slice(0, 1).join('')} ${seconds(times.start)}–${seconds(times.end)}${modelMs ? ` [${seconds(modelMs)}]` : ''}` : `${id} (not timed)`;
  };
  const chain: string[] = [];
  for (let level = 1; level <= levels; level++) {
    const image = last.replace(/^fleet-l\d/, `fleet-l${level}`);
    const parts = [shown(`build:${image}`, ideal.buildMs), shown(`smoke:${image}`, ideal.smokeMs)];
    if (level === levels) parts.push(...copyRegions.map((region) => `${shown(`copy:${image}:${region}`, ideal.copyMs)} ${region}`), shown(`publish:${image}`));
    chain.push(`${image}: ${parts.join(', ')}`);
  }
  return chain.join('; ');
}
