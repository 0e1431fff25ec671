/**
 * Copies in other accounts follow their source's revoke and restore, decided purely from what each account holds:
 * recorded after the building account's record, every pointer there naming the revoked copy moved by the building
 * account's rules, deprecated last; finished by any later command; planned no more once done.
 */
import { describe, expect, it } from 'vitest';
import type { AccountInventory, Inventory, ObservedAmi, ObservedParameter } from '../../src/observe/inventory.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import { planPointerChange, type PointerChange } from '../../src/plan/plan-pointer-change.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const account = '210987654321';
const roleArn = `arn:aws:iam::${account}:role/gild-distribution`;
const regions = ['us-east-1', 'us-west-2'];
const image = resolvedImageFixture({
  name: 'web',
  buildRegion: 'us-east-1',
  copyRegions: ['us-west-2'],
  distribution: [{ account, roleArn, regions, kmsKeyId: undefined, smoke: false }],
});
const suffix = (region: string) => (region === 'us-east-1' ? 'e' : 'w');
const source = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${suffix(region)}`;
const copy = (version: string, region: string) => `ami-c${version.replaceAll('.', '')}${suffix(region)}`;
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
const param = (name: string, value: string): ObservedParameter => ({ name: `/golden/web/${name}`, value, version: 1, lastModified: undefined });
const revocation = { reason: 'CVE-1', at: now.toISOString(), by: 'ops@host' };
const revokedTags = { 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-1', 'gild:deprecated-at': now.toISOString() };

const amiOf = (amiId: string, version: string, tags: Record<string, string>): ObservedAmi => ({
  amiId,
  name: `web-${version}`,
  state: 'available',
  createdAt: daysAgo(30),
  deprecationTime: undefined,
  snapshotIds: [],
  tags: { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published', ...tags },
});

interface World {
  /** version → days since published, and whether the building account revoked it. */
  readonly versions: Record<string, { publishedDaysAgo: number; revoked?: boolean; restored?: boolean }>;
  readonly pointers: Record<string, string>;
  /** The account: its pointers (relative name → version), which copies it has, which are revoked there. */
  readonly account?: { pointers: Record<string, string>; copies?: string[]; revoked?: Record<string, 'recorded' | 'done'> } | { unreachable: string };
}

function inventory(world: World): Inventory {
  const regionsHeld = Object.fromEntries(
    regions.map((region) => {
      const parameters = [
        ...Object.keys(world.versions).map((version) => param(`versions/${version}`, source(version, region))),
        ...Object.entries(world.pointers).map(([pointer, version]) => param(pointer, source(version, region))),
      ];
      const revoked = Object.entries(world.versions).filter(([, facts]) => facts.revoked);
      for (const [version, facts] of revoked) if (!facts.restored) parameters.push(param(`status/${version}`, JSON.stringify({ revoked: revocation })));
      if (region === 'us-east-1' && revoked.length > 0) {
        const ledger = {
          schema: 1,
          built: {},
          revoked: Object.fromEntries(
            revoked.map(([version, facts]) => [version, { ...revocation, ...(facts.restored ? { restored: { at: now.toISOString(), by: 'ops@host', reason: 'false alarm' } } : {}) }]),
          ),
        };
        parameters.push(param('ledger', JSON.stringify(ledger)));
      }
      const amis = Object.entries(world.versions).map(([version, facts]) =>
        amiOf(source(version, region), version, { 'gild:published-at': daysAgo(facts.publishedDaysAgo), ...(facts.revoked && !facts.restored ? revokedTags : {}) }),
      );
      return [region, { region, parameters, amis, instances: [], temporaryResources: [], snapshots: [], references: {} }];
    }),
  );
  const held = world.account;
  const accounts: Record<string, AccountInventory> = {};
  if (held && 'unreachable' in held) accounts[roleArn] = { kind: 'unreachable', account, reason: held.unreachable };
  else if (held) {
    const copies = held.copies ?? Object.keys(world.versions);
    accounts[roleArn] = {
      kind: 'observed',
      account,
      regions: Object.fromEntries(
        regions.map((region) => {
          const parameters = [
            ...copies.map((version) => param(`versions/${version}`, copy(version, region))),
            ...Object.entries(held.pointers).map(([pointer, version]) => param(pointer, copy(version, region))),
          ];
          for (const [version, how] of Object.entries(held.revoked ?? {})) if (how) parameters.push(param(`status/${version}`, JSON.stringify({ revoked: revocation })));
          const amis = copies.map((version) =>
            amiOf(copy(version, region), version, {
              'gild:source-ami': source(version, region),
              ...(held.revoked?.[version] === 'recorded' ? { 'gild:status': 'revoked' } : held.revoked?.[version] === 'done' ? revokedTags : {}),
            }),
          );
          return [region, { parameters, amis }];
        }),
      ),
    };
  }
  return { observedAt: now.toISOString(), ssmPrefix: '/golden', regions: regionsHeld, bases: {}, leases: {}, accounts };
}

const plan = (world: World, change: PointerChange, channels: Record<string, { soakDays: number }> = { stable: { soakDays: 3 } }): RunPlan => {
  const planned = planPointerChange({ runId: 'r1', now, image, inventory: inventory(world), channels, by: 'ops@host', change });
  if ('refused' in planned) throw new Error(planned.refused);
  return planned.plan;
};
const ofAccount = (runPlan: RunPlan) => runPlan.steps.filter((step) => 'account' in step && step.account === account);
const byId = (runPlan: RunPlan, id: string): PlanStep => {
  const found = runPlan.steps.find((step) => step.id === id);
  if (!found) throw new Error(`no step ${id} in: ${runPlan.steps.map((step) => step.id).join(', ')}`);
  return found;
};

const revoke: PointerChange = { kind: 'revoke', version: '1.0.1', reason: 'CVE-1', disable: false };
const threeVersions = { '1.0.0': { publishedDaysAgo: 10 }, '1.0.1': { publishedDaysAgo: 5 }, '2.0.0': { publishedDaysAgo: 1 } };

describe('a revoke followed in a distribution account', () => {
  it('records the copies revoked after the building account, moves every pointer there naming them by the same rules, then deprecates them', () => {
    const runPlan = plan(
      { versions: threeVersions, pointers: { latest: '2.0.0', v1: '1.0.1', v2: '2.0.0' }, account: { pointers: { latest: '2.0.0', v1: '1.0.1', v2: '2.0.0', 'channels/stable': '1.0.1' } } },
      revoke,
    );
    const steps = ofAccount(runPlan);
    expect(steps.map((step) => step.id)).toEqual([
      `account-revoke:web:${account}:1.0.1:us-east-1`,
      `account-revoke:web:${account}:1.0.1:us-west-2`,
      `account-repoint:web:${account}:channels/stable`,
      `account-repoint:web:${account}:v1`,
      `account-revoke:web:${account}:1.0.1:us-east-1:deprecate`,
      `account-revoke:web:${account}:1.0.1:us-west-2:deprecate`,
    ]);
    // Intent first: the building account's record (and its ledger) comes before anything in the account.
    expect(byId(runPlan, `account-revoke:web:${account}:1.0.1:us-east-1`)).toMatchObject({
      phase: 'record',
      amiId: copy('1.0.1', 'us-east-1'),
      // The replacement of the same major, as the building account records it (latest names 2.0.0 already).
      replacement: '1.0.0',
      after: ['lock:web', 'revoke:web:1.0.1:us-east-1', 'revoke:web:1.0.1:us-west-2'],
    });
    // Another major's line goes to the newest good version of its major; a channel to the newest good one that has
    // soaked its 3 days (2.0.0 is a day old), as in the building account.
    expect(byId(runPlan, `account-repoint:web:${account}:v1`)).toMatchObject({
      version: '1.0.0',
      moves: regions.map((region) => ({ region, name: '/golden/web/v1', amiId: copy('1.0.0', region), previous: copy('1.0.1', region) })),
    });
    expect(byId(runPlan, `account-repoint:web:${account}:channels/stable`)).toMatchObject({ version: '1.0.0' });
    expect(byId(runPlan, `account-repoint:web:${account}:v1`).after).toEqual(
      expect.arrayContaining([`account-revoke:web:${account}:1.0.1:us-east-1`, `account-revoke:web:${account}:1.0.1:us-west-2`]),
    );
    expect(byId(runPlan, `account-revoke:web:${account}:1.0.1:us-west-2:deprecate`).after).toEqual(
      expect.arrayContaining([`account-repoint:web:${account}:v1`, `account-repoint:web:${account}:channels/stable`]),
    );
    // Everything in the account happens under the image's lock, given back after it.
    expect(byId(runPlan, 'release:web').after).toEqual(expect.arrayContaining(steps.map((step) => step.id)));
    const text = formatRunPlan(runPlan);
    expect(text).toContain(`revoke the copy of 1.0.1 in account ${account} in us-west-2: tag ${copy('1.0.1', 'us-west-2')} gild:status=revoked, write status/1.0.1 there`);
    expect(text).toContain(`move v1 in account ${account} to 1.0.0`);
  });

  it('leaves a pointer whose replacement the account has no copy of, saying so, and still records and deprecates the copy', () => {
    const runPlan = plan({ versions: threeVersions, pointers: { latest: '2.0.0', v1: '1.0.1', v2: '2.0.0' }, account: { pointers: { latest: '1.0.1', v1: '1.0.1' }, copies: ['1.0.1'] } }, revoke);
    expect(ofAccount(runPlan).map((step) => step.kind)).toEqual(['account-revoke', 'account-revoke', 'account-revoke', 'account-revoke']);
    expect(runPlan.kept.map((kept) => kept.reason)).toEqual(
      expect.arrayContaining([
        `latest in account ${account} still names the revoked copy: account ${account} has no published copy of 2.0.0 or 1.0.0 in us-east-1, us-west-2 yet; the next \`gild run\` distributes one`,
      ]),
    );
  });

  it('says when an account could not be read, and plans nothing there', () => {
    const runPlan = plan({ versions: threeVersions, pointers: { latest: '2.0.0', v1: '1.0.1', v2: '2.0.0' }, account: { unreachable: 'AccessDenied: no' } }, revoke);
    expect(ofAccount(runPlan)).toEqual([]);
    expect(runPlan.kept).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: `account ${account} could not be read (AccessDenied: no): its copies of 1.0.1 are revoked in the next command that can read it` })]),
    );
  });

  it('is finished by the next command when the building account revoked alone (the account was unreadable, or gild stopped), and planned no more once done', () => {
    const revoked = { ...threeVersions, '1.0.1': { publishedDaysAgo: 5, revoked: true } };
    const promote: PointerChange = { kind: 'promote', channel: 'stable', version: '1.0.0' };
    const unfinished = plan({ versions: revoked, pointers: { latest: '2.0.0', v1: '1.0.0', v2: '2.0.0' }, account: { pointers: { latest: '2.0.0', v1: '1.0.1' } } }, promote);
    expect(ofAccount(unfinished).map((step) => step.id)).toEqual([
      `account-revoke:web:${account}:1.0.1:us-east-1`,
      `account-revoke:web:${account}:1.0.1:us-west-2`,
      `account-repoint:web:${account}:v1`,
      `account-revoke:web:${account}:1.0.1:us-east-1:deprecate`,
      `account-revoke:web:${account}:1.0.1:us-west-2:deprecate`,
    ]);
    expect(ofAccount(unfinished)[0]!.reason).toMatch(/^finish the revoke that stopped half-way: account 210987654321 follows the revoke of 1\.0\.1 \(CVE-1\)/);
    expect(unfinished.images[0]!.reason).toMatch(/^finish the half-done revoke of 1\.0\.1 first/);

    // Recorded but not yet moved nor deprecated: only what is missing.
    const recorded = plan(
      { versions: revoked, pointers: { latest: '2.0.0', v1: '1.0.0', v2: '2.0.0' }, account: { pointers: { latest: '2.0.0', v1: '1.0.1' }, revoked: { '1.0.1': 'recorded' } } },
      promote,
    );
    expect(ofAccount(recorded).map((step) => step.kind)).toEqual(['account-repoint', 'account-revoke', 'account-revoke']);
    expect(byId(recorded, `account-repoint:web:${account}:v1`).after).toEqual(['lock:web']);

    const done = plan({ versions: revoked, pointers: { latest: '2.0.0', v1: '1.0.0', v2: '2.0.0' }, account: { pointers: { latest: '2.0.0', v1: '1.0.0' }, revoked: { '1.0.1': 'done' } } }, promote);
    expect(ofAccount(done)).toEqual([]);
    expect(done.images[0]!.reason).toBe('promote 1.0.0 to channels/stable');
  });
});

describe('a restore followed in a distribution account', () => {
  it('restores the revoked copies after the ledger records the restore, and moves latest and v<major> there back where it is the newest good version', () => {
    const runPlan = plan(
      {
        versions: { '1.0.0': { publishedDaysAgo: 10 }, '1.0.1': { publishedDaysAgo: 5, revoked: true } },
        pointers: { latest: '1.0.0', v1: '1.0.0' },
        account: { pointers: { latest: '1.0.0', v1: '1.0.0' }, revoked: { '1.0.1': 'done' } },
      },
      { kind: 'restore', version: '1.0.1', reason: 'false alarm' },
    );
    const steps = ofAccount(runPlan);
    expect(steps.map((step) => step.id)).toEqual([
      `account-restore:web:${account}:1.0.1:us-east-1:${copy('1.0.1', 'us-east-1')}`,
      `account-restore:web:${account}:1.0.1:us-west-2:${copy('1.0.1', 'us-west-2')}`,
      `account-repoint:web:${account}:latest`,
      `account-repoint:web:${account}:v1`,
    ]);
    expect(steps[0]!.after).toEqual(['lock:web', 'restore:web:1.0.1:us-east-1']);
    expect(byId(runPlan, `account-repoint:web:${account}:latest`)).toMatchObject({
      version: '1.0.1',
      moves: regions.map((region) => ({ region, amiId: copy('1.0.1', region), previous: copy('1.0.0', region) })),
    });
  });

  it('replaces a revoke whose account part stopped half-way: nothing there is moved off the copy only to be moved back', () => {
    const runPlan = plan(
      {
        versions: { '1.0.0': { publishedDaysAgo: 10 }, '1.0.1': { publishedDaysAgo: 5, revoked: true } },
        pointers: { latest: '1.0.0', v1: '1.0.0' },
        account: { pointers: { latest: '1.0.1', v1: '1.0.1' }, revoked: { '1.0.1': 'recorded' } },
      },
      { kind: 'restore', version: '1.0.1', reason: 'false alarm' },
    );
    expect(ofAccount(runPlan).map((step) => step.kind)).toEqual(['account-restore', 'account-restore']);
  });

  it('is finished by the next command when the ledger says restored but a copy is still revoked', () => {
    const runPlan = plan(
      {
        versions: { '1.0.0': { publishedDaysAgo: 10 }, '1.0.1': { publishedDaysAgo: 5, revoked: true, restored: true } },
        pointers: { latest: '1.0.1', v1: '1.0.1' },
        account: { pointers: { latest: '1.0.0', v1: '1.0.0' }, revoked: { '1.0.1': 'done' } },
      },
      { kind: 'promote', channel: 'stable', version: '1.0.0' },
    );
    expect(ofAccount(runPlan).map((step) => step.kind)).toEqual(['account-restore', 'account-restore', 'account-repoint', 'account-repoint']);
    expect(ofAccount(runPlan)[0]!.reason).toMatch(/^finish the restore that stopped half-way/);
  });
});
