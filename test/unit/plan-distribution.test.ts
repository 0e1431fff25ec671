/**
 * Distribution steps in the plan: what a distribution account lacks of the newest version (its own copy per region,
 * the same parameters) is planned after the building account's publish, and nothing is planned for an account that
 * has it all.
 */
import { describe, expect, it } from 'vitest';
import type { AccountInventory, ObservedAmi } from '../../src/observe/inventory.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { ami, instance, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const account = '210987654321';
const roleArn = `arn:aws:iam::${account}:role/gild-distribution`;
const fingerprint = 'fp-current';
const baseAmi = 'ami-base1';
const web = resolvedImageFixture({
  name: 'web',
  version: '1.0.0',
  copyRegions: ['us-west-2'],
  distribution: [{ account, roleArn, regions: ['us-east-1', 'us-west-2'], kmsKeyId: undefined, smoke: false }],
});

/** The building account with 1.0.0 published in both regions (`ami-<region>-100`). */
const published = (extraTags: Record<string, string> = {}) =>
  Object.fromEntries(
    web.regions.map((region) => [
      region,
      {
        parameters: [parameter('/golden/web/versions/1.0.0', `ami-${region}-100`), parameter('/golden/web/v1', `ami-${region}-100`), parameter('/golden/web/latest', `ami-${region}-100`)],
        amis: [
          ami(`ami-${region}-100`, {
            'gild:image': 'web',
            'gild:version': '1.0.0',
            'gild:status': 'published',
            'gild:fingerprint': fingerprint,
            'gild:base-ami': baseAmi,
            'gild:run-id': 'run-1',
            ...extraTags,
          }),
        ],
      },
    ]),
  );

const copyOf = (region: string, tags: Record<string, string> = {}, overrides: Partial<ObservedAmi> = {}) =>
  ami(`ami-copy-${region}`, { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:source-ami': `ami-${region}-100`, 'gild:status': 'published', ...tags }, overrides);

/** What the distribution account holds per region: its copy and parameters naming it, unless told otherwise. */
const accountHolding = (regions: Record<string, { amis?: ObservedAmi[]; pointers?: string[] }>): AccountInventory => ({
  kind: 'observed',
  account,
  regions: Object.fromEntries(
    Object.entries(regions).map(([region, { amis = [copyOf(region)], pointers = ['versions/1.0.0', 'v1', 'latest'] }]) => [
      region,
      { amis, parameters: pointers.map((pointer) => parameter(`/golden/web/${pointer}`, `ami-copy-${region}`)) },
    ]),
  ),
});

function plan(options: { regions?: NonNullable<Parameters<typeof inventoryFixture>[0]>['regions']; accounts?: Record<string, AccountInventory> }): RunPlan {
  return assembleWith(options);
}

function assembleWith(options: { regions?: NonNullable<Parameters<typeof inventoryFixture>[0]>['regions']; accounts?: Record<string, AccountInventory>; keep?: number }): RunPlan {
  const image = options.keep ? { ...web, retention: { ...web.retention, keep: options.keep } } : web;
  const inventory = inventoryFixture({ regions: options.regions ?? { 'us-east-1': {}, 'us-west-2': {} }, bases: { web: { kind: 'resolved', amiId: baseAmi, source: 'ssm:/aws/service/al2023' } } });
  return assemblePlan({
    runId: 'run-2',
    now,
    images: [image],
    fingerprints: { web: fingerprint },
    inventory: options.accounts ? { ...inventory, accounts: options.accounts } : inventory,
    force: false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  });
}

const step = <K extends PlanStep['kind']>(runPlan: RunPlan, id: string, kind: K) => {
  const found = runPlan.steps.find((candidate) => candidate.id === id);
  if (found?.kind !== kind) throw new Error(`no ${kind} step ${id} in: ${runPlan.steps.map((candidate) => candidate.id).join(', ')}`);
  return found as Extract<PlanStep, { kind: K }>;
};

describe('distribution in the plan', () => {
  it('copies a version published in this run into the account after the publish, then publishes it there', () => {
    const runPlan = plan({ accounts: { [roleArn]: { kind: 'observed', account, regions: { 'us-east-1': { amis: [], parameters: [] }, 'us-west-2': { amis: [], parameters: [] } } } } });
    const distribute = step(runPlan, `distribute:web:${account}:us-east-1`, 'distribute');
    expect(distribute).toMatchObject({ version: '1.0.0', account, roleArn, region: 'us-east-1', source: { from: 'publish:web' }, after: ['publish:web'] });
    expect(distribute.reason).toBe(
      `account ${account} gets its own copy of web 1.0.0 in us-east-1, which it owns and keeps whatever happens to the building account's AMI: 1.0.0 is published in this run`,
    );
    const publish = step(runPlan, `account-publish:web:${account}`, 'account-publish');
    expect(publish.after).toEqual([`distribute:web:${account}:us-east-1`, `distribute:web:${account}:us-west-2`]);
    expect(publish.copies).toEqual({ 'us-east-1': { from: `distribute:web:${account}:us-east-1` }, 'us-west-2': { from: `distribute:web:${account}:us-west-2` } });
    // Versions first, pointers last, as in the building account.
    expect(publish.writes.map((write) => `${write.region} ${write.name} ${write.previous ?? '-'}`)).toEqual([
      'us-east-1 /golden/web/versions/1.0.0 -',
      'us-west-2 /golden/web/versions/1.0.0 -',
      'us-east-1 /golden/web/v1 -',
      'us-east-1 /golden/web/latest -',
      'us-west-2 /golden/web/v1 -',
      'us-west-2 /golden/web/latest -',
    ]);
    // The lock is given back only after the distribution.
    expect(step(runPlan, 'release:web', 'release').after).toEqual(expect.arrayContaining([`distribute:web:${account}:us-west-2`, `account-publish:web:${account}`]));
    expect(formatRunPlan(runPlan)).toContain(`copy 1.0.0 into account ${account} in us-west-2 (as ${roleArn})`);
  });

  it('plans nothing for an account that has its copies and parameters: an unchanged image takes no lock', () => {
    const runPlan = plan({ regions: published(), accounts: { [roleArn]: accountHolding({ 'us-east-1': {}, 'us-west-2': {} }) } });
    expect(runPlan.steps).toEqual([]);
    expect(runPlan.images[0]!.action).toBe('unchanged');
  });

  it('copies an already published version into an account that lacks it, under the lock', () => {
    const runPlan = plan({ regions: published(), accounts: { [roleArn]: accountHolding({ 'us-east-1': {}, 'us-west-2': { amis: [], pointers: [] } }) } });
    expect(runPlan.steps.map((planned) => planned.id)).toEqual(['lock:web', `distribute:web:${account}:us-west-2`, `account-publish:web:${account}`, 'release:web']);
    const distribute = step(runPlan, `distribute:web:${account}:us-west-2`, 'distribute');
    expect(distribute).toMatchObject({ source: { amiId: 'ami-us-west-2-100' }, after: ['lock:web'] });
    expect(distribute.reason).toMatch(/it has no copy of 1\.0\.0 there yet$/);
    const publish = step(runPlan, `account-publish:web:${account}`, 'account-publish');
    expect(publish.copies).toEqual({ 'us-east-1': { amiId: 'ami-copy-us-east-1' }, 'us-west-2': { from: `distribute:web:${account}:us-west-2` } });
    expect(publish.writes.map((write) => `${write.region} ${write.name}`)).toEqual(['us-west-2 /golden/web/versions/1.0.0', 'us-west-2 /golden/web/v1', 'us-west-2 /golden/web/latest']);
  });

  it('finishes a distribution that stopped before the parameters: only what is missing is written', () => {
    const runPlan = plan({
      regions: published(),
      accounts: { [roleArn]: accountHolding({ 'us-east-1': { amis: [copyOf('us-east-1', { 'gild:status': 'copied' })], pointers: ['versions/1.0.0'] }, 'us-west-2': {} }) },
    });
    expect(runPlan.steps.map((planned) => planned.id)).toEqual(['lock:web', `account-publish:web:${account}`, 'release:web']);
    const publish = step(runPlan, `account-publish:web:${account}`, 'account-publish');
    expect(publish.after).toEqual(['lock:web']);
    expect(publish.writes).toEqual([
      { region: 'us-east-1', name: '/golden/web/v1', pointer: 'major', previous: undefined },
      { region: 'us-east-1', name: '/golden/web/latest', pointer: 'latest', previous: undefined },
    ]);
  });

  it('waits for a copy that is still pending instead of copying again', () => {
    const runPlan = plan({ regions: published(), accounts: { [roleArn]: accountHolding({ 'us-east-1': { amis: [copyOf('us-east-1', {}, { state: 'pending' })], pointers: [] }, 'us-west-2': {} }) } });
    expect(step(runPlan, `distribute:web:${account}:us-east-1`, 'distribute').reason).toMatch(/its copy ami-copy-us-east-1 is pending: wait for it$/);
  });

  it('deregisters a failed copy before copying again, instead of waiting on it forever', () => {
    const runPlan = plan({
      regions: published(),
      accounts: { [roleArn]: accountHolding({ 'us-east-1': {}, 'us-west-2': { amis: [copyOf('us-west-2', { 'gild:status': 'copied' }, { state: 'failed' })], pointers: [] } }) },
    });
    const retireId = `retire-copy:web:${account}:1.0.0:us-west-2:ami-copy-us-west-2`;
    expect(runPlan.steps.map((planned) => planned.id)).toEqual(['lock:web', retireId, `distribute:web:${account}:us-west-2`, `account-publish:web:${account}`, 'release:web']);
    expect(step(runPlan, retireId, 'retire-copy')).toMatchObject({ amiId: 'ami-copy-us-west-2', parameterName: undefined, after: ['lock:web'] });
    expect(step(runPlan, retireId, 'retire-copy').reason).toMatch(/failed .*: it is deregistered so that the copy can be made again$/);
    const distribute = step(runPlan, `distribute:web:${account}:us-west-2`, 'distribute');
    expect(distribute.after).toEqual(['lock:web', retireId]);
    expect(distribute.reason).toMatch(/its copy of 1\.0\.0 there failed: copy it again$/);
  });

  it('still plans the copy for an account that could not be read, saying why, so that the run fails it with the reason', () => {
    const runPlan = plan({ regions: published(), accounts: { [roleArn]: { kind: 'unreachable', account, reason: 'AccessDenied: not authorized to perform: sts:AssumeRole' } } });
    const distribute = step(runPlan, `distribute:web:${account}:us-east-1`, 'distribute');
    expect(distribute.reason).toMatch(/what the account holds could not be read \(AccessDenied: not authorized to perform: sts:AssumeRole\)/);
  });

  it('never hands a revoked version to another account', () => {
    const runPlan = plan({
      regions: published({ 'gild:status': 'revoked' }),
      accounts: { [roleArn]: accountHolding({ 'us-east-1': { amis: [], pointers: [] }, 'us-west-2': { amis: [], pointers: [] } }) },
    });
    expect(runPlan.steps.filter((planned) => planned.kind === 'distribute' || planned.kind === 'account-publish')).toEqual([]);
  });

  it('follows in the account a revoke the building account made alone (the account unreadable then): the copy recorded revoked, the pointers there moved back to the newest good one, beside the run', () => {
    // The building account: 1.0.1 published, then revoked (its pointers moved back to 1.0.0 by `gild revoke`).
    const regions = published();
    for (const region of web.regions) {
      regions[region]!.parameters.push(parameter('/golden/web/versions/1.0.1', `ami-${region}-101`));
      regions[region]!.amis.push(
        ami(`ami-${region}-101`, {
          'gild:image': 'web',
          'gild:version': '1.0.1',
          'gild:status': 'revoked',
          'gild:revoked-reason': 'CVE-1',
          'gild:deprecated-at': '2026-11-28T00:00:00.000Z',
          'gild:fingerprint': fingerprint,
          'gild:base-ami': baseAmi,
          'gild:run-id': 'run-2',
        }),
      );
      // The building account's revoke is complete: recorded in the status parameters and the ledger, deprecated.
      regions[region]!.parameters.push(parameter('/golden/web/status/1.0.1', JSON.stringify({ revoked: { reason: 'CVE-1', at: '2026-11-28T00:00:00.000Z', by: 'ops' } })));
    }
    regions['us-east-1']!.parameters.push(
      parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: {}, revoked: { '1.0.1': { reason: 'CVE-1', at: '2026-11-28T00:00:00.000Z', by: 'ops' } } })),
    );
    // The account got 1.0.1 before the revoke: its latest and v1 name that copy.
    const holding = (region: string) => ({
      amis: [copyOf(region), ami(`ami-copy101-${region}`, { 'gild:image': 'web', 'gild:version': '1.0.1', 'gild:source-ami': `ami-${region}-101`, 'gild:status': 'published' })],
      parameters: [
        parameter('/golden/web/versions/1.0.0', `ami-copy-${region}`),
        parameter('/golden/web/versions/1.0.1', `ami-copy101-${region}`),
        parameter('/golden/web/v1', `ami-copy101-${region}`),
        parameter('/golden/web/latest', `ami-copy101-${region}`),
      ],
    });
    const runPlan = plan({ regions, accounts: { [roleArn]: { kind: 'observed', account, regions: { 'us-east-1': holding('us-east-1'), 'us-west-2': holding('us-west-2') } } } });
    expect(runPlan.steps.filter((planned) => planned.kind === 'distribute' || planned.kind === 'account-publish')).toEqual([]);
    expect(runPlan.steps.map((planned) => planned.id)).toEqual([
      'lock:web',
      `account-revoke:web:${account}:1.0.1:us-east-1`,
      `account-revoke:web:${account}:1.0.1:us-west-2`,
      `account-repoint:web:${account}:latest`,
      `account-repoint:web:${account}:v1`,
      `account-revoke:web:${account}:1.0.1:us-east-1:deprecate`,
      `account-revoke:web:${account}:1.0.1:us-west-2:deprecate`,
      'release:web',
    ]);
    const latest = step(runPlan, `account-repoint:web:${account}:latest`, 'account-repoint');
    expect(latest.version).toBe('1.0.0');
    expect(latest.moves.map((move) => `${move.region} ${move.name} ${move.previous} → ${move.amiId}`)).toEqual([
      'us-east-1 /golden/web/latest ami-copy101-us-east-1 → ami-copy-us-east-1',
      'us-west-2 /golden/web/latest ami-copy101-us-west-2 → ami-copy-us-west-2',
    ]);
    expect(latest.reason).toMatch(/^finish the revoke that stopped half-way: it names the copy of the revoked 1\.0\.1 in account 210987654321/);
    // The image itself is not held up: nothing to build, and nothing else to finish.
    expect(runPlan.images[0]!.action).toBe('unchanged');
  });

  it("terminates, as the account's role, an account smoke instance a run that is gone left running there", () => {
    const held = accountHolding({ 'us-east-1': {}, 'us-west-2': {} });
    if (held.kind !== 'observed') throw new Error('observed');
    const smokeInstance = (instanceId: string, runId: string, launchedAt: string) => instance(instanceId, launchedAt, { 'gild:role': 'smoke', 'gild:image': 'web', 'gild:run-id': runId });
    const instances = [
      smokeInstance('i-0dead', '20261129T080000Z-dead', '2026-11-29T08:01:00.000Z'),
      smokeInstance('i-0young', '20261129T113000Z-young', '2026-11-29T11:31:00.000Z'),
      smokeInstance('i-0ours', 'run-2', '2026-11-29T08:01:00.000Z'),
    ];
    const runPlan = plan({ regions: published(), accounts: { [roleArn]: { ...held, regions: { ...held.regions, 'us-west-2': { ...held.regions['us-west-2']!, instances } } } } });
    const sweeps = runPlan.steps.filter((planned) => planned.kind === 'sweep');
    expect(sweeps.map((planned) => planned.id)).toEqual([`sweep:${account}:us-west-2:i-0dead`]);
    const sweep = step(runPlan, `sweep:${account}:us-west-2:i-0dead`, 'sweep');
    expect(sweep).toMatchObject({
      region: 'us-west-2',
      resource: { kind: 'instance', id: 'i-0dead' },
      runId: '20261129T080000Z-dead',
      account: { account, roleArn, image: 'web', lockRegion: 'us-east-1' },
    });
    expect(sweep.reason).toBe(
      `terminate leftover account smoke instance i-0dead (running) in account ${account}: its run 20261129T080000Z-dead holds no lock and it is 239 min old (sweepAfterMinutes is 120)`,
    );
    expect(formatRunPlan(runPlan)).toContain(`sweep account ${account} (as ${roleArn}) us-west-2 instance i-0dead`);
  });

  it('plans around a region the building account has no AMI in yet, instead of crashing', () => {
    const wider = { ...web, distribution: [{ account, roleArn, regions: ['us-east-1', 'eu-west-1'], kmsKeyId: undefined, smoke: false as const }] };
    const inventory = inventoryFixture({ regions: published(), bases: { web: { kind: 'resolved', amiId: baseAmi, source: 'ssm:/aws/service/al2023' } } });
    const accounts = {
      [roleArn]: { kind: 'observed' as const, account, regions: { 'us-east-1': { amis: [], parameters: [] }, 'eu-west-1': { amis: [ami('ami-api', { 'gild:image': 'api' })], parameters: [] } } },
    };
    const runPlan = assemblePlan({
      runId: 'run-2',
      now,
      images: [wider],
      fingerprints: { web: fingerprint },
      inventory: { ...inventory, accounts },
      force: false,
      settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
    });
    expect(runPlan.steps.map((planned) => planned.id)).toEqual(['lock:web', `distribute:web:${account}:us-east-1`, `account-publish:web:${account}`, 'release:web']);
    expect(step(runPlan, `account-publish:web:${account}`, 'account-publish').copies).toEqual({ 'us-east-1': { from: `distribute:web:${account}:us-east-1` } });
  });

  it('retires the copies of a version the building account deregisters in this run, after its retire step', () => {
    const regions = published();
    const east = regions['us-east-1']!;
    east.parameters.push(parameter('/golden/web/versions/0.9.0', 'ami-us-east-1-090'));
    east.amis.push(ami('ami-us-east-1-090', { 'gild:image': 'web', 'gild:version': '0.9.0', 'gild:status': 'published', 'gild:run-id': 'run-0' }, { createdAt: '2026-10-01T00:00:00.000Z' }));
    const oldCopy = ami('ami-copy-090', { 'gild:image': 'web', 'gild:version': '0.9.0', 'gild:source-ami': 'ami-us-east-1-090', 'gild:status': 'published' });
    const runPlan = assembleWith({
      regions,
      keep: 1,
      accounts: {
        [roleArn]: {
          kind: 'observed',
          account,
          regions: {
            'us-east-1': {
              amis: [copyOf('us-east-1'), oldCopy],
              parameters: [
                parameter('/golden/web/versions/1.0.0', 'ami-copy-us-east-1'),
                parameter('/golden/web/versions/0.9.0', 'ami-copy-090'),
                parameter('/golden/web/latest', 'ami-copy-us-east-1'),
                parameter('/golden/web/v1', 'ami-copy-us-east-1'),
              ],
            },
            'us-west-2': { amis: [copyOf('us-west-2')], parameters: ['versions/1.0.0', 'v1', 'latest'].map((pointer) => parameter(`/golden/web/${pointer}`, 'ami-copy-us-west-2')) },
          },
        },
      },
    });
    const retire = step(runPlan, `retire-copy:web:${account}:0.9.0:us-east-1`, 'retire-copy');
    expect(retire).toMatchObject({ amiId: 'ami-copy-090', parameterName: '/golden/web/versions/0.9.0', after: ['retire:web:0.9.0:us-east-1:deregister'] });
    expect(retire.reason).toBe(`0.9.0 is retired in the building account in this run (its source ami-us-east-1-090 is deregistered): its copy in account ${account} goes too`);
    expect(formatRunPlan(runPlan)).toContain(`retire the copy of 0.9.0 in account ${account} in us-east-1: ami-copy-090, /golden/web/versions/0.9.0`);
  });

  it('a copy follows the deprecate and disable phases its source is stamped with, once each', () => {
    const regions = published();
    const east = regions['us-east-1']!;
    east.parameters.push(parameter('/golden/web/versions/0.9.0', 'ami-us-east-1-090'));
    const stamps = { 'gild:deprecated-at': '2026-11-20T00:00:00.000Z', 'gild:disabled-at': '2026-11-25T00:00:00.000Z' };
    east.amis.push(ami('ami-us-east-1-090', { 'gild:image': 'web', 'gild:version': '0.9.0', 'gild:status': 'published', 'gild:run-id': 'run-0', ...stamps }));
    const withCopy = (copyTags: Record<string, string>) => {
      const held = accountHolding({ 'us-east-1': {}, 'us-west-2': {} });
      if (held.kind !== 'observed') throw new Error('observed');
      const oldCopy = ami('ami-copy-090', { 'gild:image': 'web', 'gild:version': '0.9.0', 'gild:source-ami': 'ami-us-east-1-090', 'gild:status': 'published', ...copyTags });
      const accountEast = held.regions['us-east-1']!;
      return {
        [roleArn]: {
          ...held,
          regions: { ...held.regions, 'us-east-1': { amis: [...accountEast.amis, oldCopy], parameters: [...accountEast.parameters, parameter('/golden/web/versions/0.9.0', 'ami-copy-090')] } },
        },
      };
    };
    const fresh = plan({ regions, accounts: withCopy({}) });
    expect(fresh.steps.map((planned) => planned.id)).toEqual(['lock:web', `retire-copy:web:${account}:0.9.0:us-east-1:deprecate`, `retire-copy:web:${account}:0.9.0:us-east-1:disable`, 'release:web']);
    expect(step(fresh, `retire-copy:web:${account}:0.9.0:us-east-1:disable`, 'retire-copy')).toMatchObject({
      phase: 'disable',
      amiId: 'ami-copy-090',
      parameterName: '/golden/web/versions/0.9.0',
      after: ['lock:web', `retire-copy:web:${account}:0.9.0:us-east-1:deprecate`],
    });
    expect(formatRunPlan(fresh)).toContain(
      `retire (deprecate) the copy of 0.9.0 in account ${account} in us-east-1: ami-copy-090 — its source ami-us-east-1-090 was deprecated in the building account`,
    );
    expect(plan({ regions, accounts: withCopy({ 'gild:deprecated-at': '2026-11-21T00:00:00.000Z' }) }).steps.map((planned) => planned.id)).toEqual([
      'lock:web',
      `retire-copy:web:${account}:0.9.0:us-east-1:disable`,
      'release:web',
    ]);
    expect(plan({ regions, accounts: withCopy(stamps) }).steps).toEqual([]);
  });

  it('retires a copy whose source is already gone, but keeps one a pointer there still names', () => {
    const orphan = ami('ami-copy-080', { 'gild:image': 'web', 'gild:version': '0.8.0', 'gild:source-ami': 'ami-us-east-1-080' });
    const pinned = ami('ami-copy-070', { 'gild:image': 'web', 'gild:version': '0.7.0', 'gild:source-ami': 'ami-us-east-1-070' });
    const held = accountHolding({ 'us-east-1': {}, 'us-west-2': {} });
    if (held.kind !== 'observed') throw new Error('observed');
    const east = held.regions['us-east-1']!;
    const runPlan = plan({
      regions: published(),
      accounts: {
        [roleArn]: {
          ...held,
          regions: { ...held.regions, 'us-east-1': { amis: [...east.amis, orphan, pinned], parameters: [...east.parameters, parameter('/golden/web/channels/stable', 'ami-copy-070')] } },
        },
      },
    });
    expect(runPlan.steps.map((planned) => planned.id)).toEqual(['lock:web', `retire-copy:web:${account}:0.8.0:us-east-1`, 'release:web']);
    expect(step(runPlan, `retire-copy:web:${account}:0.8.0:us-east-1`, 'retire-copy')).toMatchObject({ after: ['lock:web'], parameterName: undefined });
  });

  it('leaves alone another gild pipeline’s copy in the account (another gild:prefix), whose source is no AMI of this pipeline', () => {
    const theirs = ami('ami-copy-stg', { 'gild:image': 'web', 'gild:version': '0.8.0', 'gild:source-ami': 'ami-stg-080', 'gild:prefix': '/golden-staging' });
    const held = accountHolding({ 'us-east-1': {}, 'us-west-2': {} });
    if (held.kind !== 'observed') throw new Error('observed');
    const east = held.regions['us-east-1']!;
    const runPlan = plan({ regions: published(), accounts: { [roleArn]: { ...held, regions: { ...held.regions, 'us-east-1': { amis: [...east.amis, theirs], parameters: east.parameters } } } } });
    expect(runPlan.steps.filter((planned) => JSON.stringify(planned).includes('ami-copy-stg'))).toEqual([]);
  });

  it('smoke-tests the copy in the account, where the entry says, before publishing it there; once', () => {
    const smoked = { ...web, distribution: [{ account, roleArn, regions: ['us-east-1', 'us-west-2'], kmsKeyId: undefined, smoke: { subnetId: 'subnet-0123456789abcdef0' } }] };
    const inventory = inventoryFixture({ regions: published(), bases: { web: { kind: 'resolved', amiId: baseAmi, source: 'ssm:/aws/service/al2023' } } });
    const assemble = (accounts: Record<string, AccountInventory>) =>
      assemblePlan({
        runId: 'run-2',
        now,
        images: [smoked],
        fingerprints: { web: fingerprint },
        inventory: { ...inventory, accounts },
        force: false,
        settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
      });

    const fresh = assemble({ [roleArn]: accountHolding({ 'us-east-1': { amis: [], pointers: [] }, 'us-west-2': { amis: [], pointers: [] } }) });
    const smoke = step(fresh, `account-smoke:web:${account}`, 'account-smoke');
    expect(smoke).toMatchObject({
      region: 'us-east-1',
      launch: { subnetId: 'subnet-0123456789abcdef0', securityGroupIds: [], instanceProfile: undefined },
      after: [`distribute:web:${account}:us-east-1`, `distribute:web:${account}:us-west-2`],
    });
    expect(step(fresh, `account-publish:web:${account}`, 'account-publish').after).toEqual([smoke.id]);

    // A copy made but never tested (the run stopped) is tested before it is published; a tested one is not tested again.
    const copied = assemble({ [roleArn]: accountHolding({ 'us-east-1': { amis: [copyOf('us-east-1', { 'gild:status': 'copied' })], pointers: [] }, 'us-west-2': {} }) });
    expect(copied.steps.map((planned) => planned.id)).toEqual(['lock:web', `account-smoke:web:${account}`, `account-publish:web:${account}`, 'release:web']);
    const failed = assemble({ [roleArn]: accountHolding({ 'us-east-1': { amis: [copyOf('us-east-1', { 'gild:status': 'failed' })], pointers: [] }, 'us-west-2': {} }) });
    expect(failed.steps.map((planned) => planned.id)).toEqual(['lock:web', `account-smoke:web:${account}`, `account-publish:web:${account}`, 'release:web']);
    const tested = assemble({ [roleArn]: accountHolding({ 'us-east-1': { amis: [copyOf('us-east-1', { 'gild:status': 'tested' })], pointers: [] }, 'us-west-2': {} }) });
    expect(tested.steps.map((planned) => planned.id)).toEqual(['lock:web', `account-publish:web:${account}`, 'release:web']);
  });

  it('does not move a pointer the building account holds by rollback', () => {
    const regions = published();
    regions['us-east-1']!.parameters.push(parameter('/golden/web/holds/latest', JSON.stringify({ version: '1.0.0', reason: 'bad kernel', at: '2026-11-28T00:00:00.000Z', by: 'ops' })));
    const runPlan = plan({ regions, accounts: { [roleArn]: accountHolding({ 'us-east-1': { amis: [], pointers: [] }, 'us-west-2': { amis: [], pointers: [] } }) } });
    const publish = step(runPlan, `account-publish:web:${account}`, 'account-publish');
    expect(publish.writes.map((write) => write.name)).not.toContain('/golden/web/latest');
  });
});
