import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentRegisteredAt,
  awsLatencies,
  commandDoneAt,
  createAwsClock,
  fleetClockPhaseAwsSeconds,
  fleetClockScale,
  formatLatencyTable,
  gildPollingEnv,
  imageStateAt,
  instanceStateAt,
  packerPollingEnv,
  statusCheckAt,
} from '../support/aws-clock-model.ts';
import { rewriteItems } from '../support/aws-clock-proxy.ts';
import { repoRoot } from '../support/project.ts';

const clock = createAwsClock({ scale: 60 });

describe('the AWS clock model', () => {
  it('scales AWS seconds: at 60, one AWS minute is one second', () => {
    expect(clock.ms('agentRegistration')).toBe(1000);
    expect(createAwsClock({ scale: 1 }).ms('agentRegistration')).toBe(60_000);
    expect(() => createAwsClock({ scale: 0 })).toThrow(/positive/);
  });

  it('makes an image pending longer the larger it is, and a copy longer than a creation', () => {
    expect(clock.ms('createImage', 16)).toBeGreaterThan(clock.ms('createImage', 8));
    expect(clock.ms('copyImage', 8)).toBeGreaterThan(clock.ms('createImage', 8));
    const image = { kind: 'createImage' as const, startedAt: 0, sizeGiB: 8 };
    const pendingMs = clock.ms('createImage', 8);
    expect(imageStateAt(clock, image, pendingMs - 1)).toBe('pending');
    expect(imageStateAt(clock, image, pendingMs)).toBe('available');
  });

  it('only delays what the emulator reported, and orders running, status checks and agent registration', () => {
    const instance = { launchedAt: 0 };
    const running = clock.ms('instancePending');
    expect(instanceStateAt(clock, instance, 'running', running - 1)).toBe('pending');
    expect(instanceStateAt(clock, instance, 'running', running)).toBe('running');
    expect(statusCheckAt(clock, instance, running)).toBe('initializing');
    expect(statusCheckAt(clock, instance, running + clock.ms('statusChecksInitializing'))).toBe('ok');
    expect(agentRegisteredAt(clock, instance)).toBe(running + clock.ms('agentRegistration'));
    // A stop the emulator made at once is `stopping` for a while; a state it never reported is never shown.
    expect(instanceStateAt(clock, { launchedAt: 0, stopRequestedAt: 10_000 }, 'stopped', 10_000)).toBe('stopping');
    expect(instanceStateAt(clock, { launchedAt: 0, stopRequestedAt: 10_000 }, 'stopped', 10_000 + clock.ms('instanceStopping'))).toBe('stopped');
    expect(instanceStateAt(clock, { launchedAt: 0 }, 'stopped', 0)).toBe('stopped');
    expect(commandDoneAt(clock, 100)).toBe(100 + clock.ms('commandRun'));
  });

  it('gives Packer whole-second polling that outlasts the longest modelled wait', () => {
    const env = packerPollingEnv(clock);
    expect(env.AWS_POLL_DELAY_SECONDS).toBe('1');
    expect(Number(env.AWS_MAX_ATTEMPTS) * 1000).toBeGreaterThanOrEqual(2 * clock.ms('copyImage'));
    expect(packerPollingEnv(createAwsClock({ scale: 1 })).AWS_POLL_DELAY_SECONDS).toBe('15');
  });

  it("scales gild's own polling as Packer's: a copy every 15 AWS seconds, a smoke command or instance every 3", () => {
    expect(gildPollingEnv(createAwsClock({ scale: 20 }))).toEqual({ GILD_COPY_POLL_MS: '750', GILD_SMOKE_POLL_MS: '150' });
    expect(gildPollingEnv(createAwsClock({ scale: 1 }))).toEqual({ GILD_COPY_POLL_MS: '15000', GILD_SMOKE_POLL_MS: '3000' });
    expect(gildPollingEnv(createAwsClock({ scale: 10_000 }))).toEqual({ GILD_COPY_POLL_MS: '2', GILD_SMOKE_POLL_MS: '1' });
  });

  it('adds the phase to every modelled wait, in AWS seconds, scaled like the rest', () => {
    const phased = createAwsClock({ scale: fleetClockScale, phaseAwsSeconds: fleetClockPhaseAwsSeconds });
    const plain = createAwsClock({ scale: fleetClockScale });
    for (const name of Object.keys(awsLatencies) as (keyof typeof awsLatencies)[]) expect(phased.ms(name) - plain.ms(name)).toBeCloseTo((7.5 * 1000) / 15, 6);
    expect(phased.ms('copyImage', 8)).toBeCloseTo(((300 + 75 * 8 + 7.5) * 1000) / 15, 6);
    expect(() => createAwsClock({ phaseAwsSeconds: -1 })).toThrow(/phaseAwsSeconds must be a number of AWS seconds, 0 or more, not -1/);
  });

  it('cites a source for every figure, and docs/aws-clock.md and the README show the table as the model has it', async () => {
    for (const latency of Object.values(awsLatencies)) expect(latency.source).toMatch(/https:\/\/docs\.aws\.amazon\.com\//);
    const page = await readFile(path.join(repoRoot, 'docs/aws-clock.md'), 'utf8');
    expect(page).toContain(formatLatencyTable());
    // The README's at the scale the fleet benchmark runs at.
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(formatLatencyTable(fleetClockScale));
  });
});

describe('rewriteItems', () => {
  it('rewrites top-level items only, and can leave one out', () => {
    const xml = '<r><imagesSet><item><imageId>a</imageId><blockDeviceMapping><item><x/></item></blockDeviceMapping></item><item><imageId>b</imageId></item></imagesSet></r>';
    const rewritten = rewriteItems(xml, 'imagesSet', (item) => (item.includes('<imageId>b</imageId>') ? undefined : item.replace('<x/>', '<y/>')));
    expect(rewritten).toBe('<r><imagesSet><item><imageId>a</imageId><blockDeviceMapping><item><y/></item></blockDeviceMapping></item></imagesSet></r>');
    expect(rewriteItems('<r><imagesSet/></r>', 'imagesSet', () => undefined)).toBe('<r><imagesSet/></r>');
  });
});
