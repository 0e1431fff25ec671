/**
 * assemblePlan is pure: the plan follows from the images, the fingerprints
 * and the observed inventory alone. Each case is one observed world and the
 * plan it must give.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import type { Inventory, LeaseState, ObservedAmi, ObservedParameter } from '../../src/observe/inventory.ts';
import { observeLeaseState } from '../../src/observe/parse-lease.ts';
import { assemblePlan, type AssembleInput } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { ami, instance, inventoryFixture, parameter, temporaryResource } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const runId = '20261129T120000Z-run000';
const region = 'us-east-1';
const baseAmi = 'ami-base1';
const fingerprint = 'fp-current';

const web = resolvedImageFixture({ name: 'web', version: '1.0.0' });

/** An AMI gild built for `image`, with the tags its build and publish leave. */
function builtAmi(amiId: string, tags: Record<string, string>): ObservedAmi {
  return ami(amiId, { 'gild:image': 'web', 'gild:fingerprint': fingerprint, 'gild:base-ami': baseAmi, 'gild:built-at': '2026-11-01T00:00:00.000Z', ...tags });
}

/** `versions/<v>` for each version, and latest at the last one; their AMIs tagged published. */
function publishedVersions(image: string, versions: readonly string[], amiTags: Record<string, string> = {}): { parameters: ObservedParameter[]; amis: ObservedAmi[] } {
  const amiIdOf = (version: string) => `ami-${image}-${version.replaceAll('.', '')}`;
  return {
    parameters: [...versions.map((version) => parameter(`/golden/${image}/versions/${version}`, amiIdOf(version))), parameter(`/golden/${image}/latest`, amiIdOf(versions.at(-1)!))],
    amis: versions.map((version) => builtAmi(amiIdOf(version), { 'gild:image': image, 'gild:status': 'published', 'gild:version': version, ...amiTags })),
  };
}

function input(
  overrides: {
    images?: ResolvedImage[];
    regionInventory?: Partial<Inventory['regions'][string]>;
    leases?: Record<string, LeaseState>;
    force?: boolean;
    fingerprints?: Record<string, string>;
    bases?: Inventory['bases'];
  } = {},
): AssembleInput {
  const images = overrides.images ?? [web];
  return {
    runId,
    now,
    images,
    fingerprints: overrides.fingerprints ?? Object.fromEntries(images.map((image) => [image.name, fingerprint])),
    inventory: inventoryFixture({
      regions: { [region]: overrides.regionInventory ?? {} },
      bases: overrides.bases ?? Object.fromEntries(images.map((image) => [image.name, { kind: 'resolved', amiId: baseAmi, source: 'ssm:/aws/service/al2023' } as const])),
      leases: overrides.leases ?? {},
    }),
    force: overrides.force ?? false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  };
}

const ids = (plan: RunPlan) => plan.steps.map((planned) => planned.id);
const stepById = <K extends PlanStep['kind']>(plan: RunPlan, id: string, kind: K) => {
  const found = plan.steps.find((planned) => planned.id === id);
  if (found?.kind !== kind) throw new Error(`the plan has no ${kind} step ${id}: ${ids(plan).join(', ')}`);
  return found as Extract<PlanStep, { kind: K }>;
};

function lease(runOf: string, options: { host?: string; pid?: number; expiresAt: string }): string {
  return JSON.stringify({ runId: runOf, host: options.host ?? 'ci-runner-7', pid: options.pid ?? 4242, takenAt: '2026-11-29T11:00:00.000Z', expiresAt: options.expiresAt });
}

const otherHost = { host: 'this-host', isPidAlive: () => true };

describe('assemblePlan', () => {
  it('gives the same plan for the same input, takes no client and changes nothing it is given', () => {
    const given = input({ regionInventory: publishedVersions('web', ['1.0.0']), force: true });
    // structuredClone refuses functions: the input holds no client, no callback, nothing to call out with.
    const snapshot = structuredClone(given);
    deepFreeze(given);

    const first = assemblePlan(given);
    const second = assemblePlan(given);

    expect(second).toEqual(first);
    expect(given).toEqual(snapshot);
    expect(assemblePlan).toHaveLength(1);
    // The plan is data: it survives JSON as it is.
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
  });

  it('builds the first version of an image nothing was published for', () => {
    const plan = assemblePlan(input());

    expect(plan.images).toEqual([{ image: 'web', action: 'build', reason: 'first build: no version is published yet', currentVersion: undefined, nextVersion: '1.0.0' }]);
    expect(ids(plan)).toEqual(['lock:web', 'build:web', 'packer-exit:web', 'smoke:web', 'discard:web:us-east-1', 'share:web:us-east-1', 'publish:web', 'release:web']);
    expect(stepById(plan, 'build:web', 'build')).toMatchObject({ base: { kind: 'ami', amiId: baseAmi }, fingerprint, amiName: `web-1.0.0-${runId}`, after: ['lock:web'] });
    expect(stepById(plan, 'publish:web', 'publish').writes).toEqual([
      { region, name: '/golden/web/versions/1.0.0', pointer: 'version', previous: undefined },
      { region, name: '/golden/web/v1', pointer: 'major', previous: undefined },
      { region, name: '/golden/web/latest', pointer: 'latest', previous: undefined },
    ]);
    expect(stepById(plan, 'release:web', 'release').after).toEqual(['lock:web', 'build:web', 'packer-exit:web', 'smoke:web', 'discard:web:us-east-1', 'share:web:us-east-1', 'publish:web']);
    // Removing a failed image is planned, shown and checked like any removal; the runner runs it only if the smoke test fails.
    expect(stepById(plan, 'discard:web:us-east-1', 'discard')).toMatchObject({ region, amis: { from: 'build:web' }, onFailure: 'deregister', after: ['smoke:web', 'packer-exit:web'] });
    expect(formatRunPlan(plan)).toMatchInlineSnapshot(`
      "+ web: build 1.0.0 — first build: no version is published yet
          build 1.0.0 in us-east-1 from ami-base1 (ssm:/aws/service/al2023) — first build: no version is published yet
          wait for Packer to exit well (its cleanup and post-processors), else mark 1.0.0 failed — the build hands on its AMI once Packer has tagged it, so that the smoke test and the copies start while Packer terminates its instance; nothing is shared or published unless Packer then exits 0 with a manifest naming that AMI
          smoke test 1.0.0 — a failing image is never published: 0 checks on t3.micro
          if the smoke test fails or Packer fails after its AMI: remove the AMI build:web makes in us-east-1 and its snapshots — a failing image is never published, so nothing would ever use it (smoke.onFailure is "deregister")
          describe 1.0.0 in us-east-1, private — after the smoke test, set the description and the image stays private: any grant on the AMI or its snapshots is removed
          publish 1.0.0: us-east-1 /golden/web/versions/1.0.0, us-east-1 /golden/web/v1, us-east-1 /golden/web/latest — the smoke test passed: publish 1.0.0 in us-east-1"
    `);
  });

  it('leaves an unchanged image alone: no steps, not even its lock', () => {
    const plan = assemblePlan(input({ regionInventory: publishedVersions('web', ['1.0.0']) }));

    expect(plan.images).toEqual([{ image: 'web', action: 'unchanged', reason: 'unchanged since 1.0.0 (same definition, templates and base AMI); use --force to rebuild', currentVersion: '1.0.0' }]);
    expect(plan.steps).toEqual([]);
  });

  it('rebuilds with --force as the next patch, moving latest from what was observed', () => {
    const plan = assemblePlan(input({ regionInventory: publishedVersions('web', ['1.0.0']), force: true }));

    expect(plan.images[0]).toMatchObject({ action: 'build', reason: 'rebuild forced with --force', currentVersion: '1.0.0', nextVersion: '1.0.1' });
    expect(stepById(plan, 'publish:web', 'publish').writes.at(-1)).toEqual({ region, name: '/golden/web/latest', pointer: 'latest', previous: 'ami-web-100' });
    expect(stepById(plan, 'smoke:web', 'smoke').previousVersion).toBe('1.0.0');
  });

  it('rebuilds when what goes into the image changed, or its base AMI did', () => {
    const changed = assemblePlan(input({ regionInventory: publishedVersions('web', ['1.0.0']), fingerprints: { web: 'fp-new' } }));
    const rebased = assemblePlan(input({ regionInventory: publishedVersions('web', ['1.0.0']), bases: { web: { kind: 'resolved', amiId: 'ami-base2', source: 'ssm:/aws/service/al2023' } } }));

    expect(changed.images[0]).toMatchObject({ action: 'build', reason: 'what goes into the image changed (the rendered template or the files it uses)' });
    expect(rebased.images[0]).toMatchObject({ action: 'build', reason: 'the base AMI changed from ami-base1 to ami-base2' });
  });

  it('says in the build step when an image is captured without being generalized, or keeps part of what the build left', () => {
    const off = resolvedImageFixture({ name: 'web', generalize: { kind: 'off', reason: 'forensic copy of the build as it was', bare: false } });
    expect(stepById(assemblePlan(input({ images: [off] })), 'build:web', 'build').reason).toBe(
      'first build: no version is published yet; not generalized (generalize turned off: forensic copy of the build as it was)',
    );
    const keeps = resolvedImageFixture({ name: 'web', generalize: { kind: 'on', keep: ['ssh-host-keys'], reason: 'clients pin the host key', launchAgent: undefined } });
    expect(formatRunPlan(assemblePlan(input({ images: [keeps] })))).toContain(
      '    build 1.0.0 in us-east-1 from ami-base1 (ssm:/aws/service/al2023) — first build: no version is published yet; generalized but keeps ssh-host-keys (clients pin the host key)',
    );
  });

  it("keeps a failing image's removal a step of the plan, with a keep variant when the image keeps failures", () => {
    const keeping = resolvedImageFixture({ name: 'web', smoke: { ...resolvedImageFixture({ name: 'web' }).smoke, onFailure: 'keep' } });
    const plan = assemblePlan(input({ images: [keeping] }));

    expect(stepById(plan, 'discard:web:us-east-1', 'discard')).toMatchObject({
      onFailure: 'keep',
      after: ['smoke:web', 'packer-exit:web'],
      precondition: 'the AMI in us-east-1 is still tagged gild:image=web, gild:version=1.0.0 and gild:status=failed',
    });
    expect(formatRunPlan(plan)).toContain(
      'if the smoke test fails or Packer fails after its AMI: withdraw every grant on the AMI build:web makes in us-east-1 and its snapshots, and keep it — a failing image is never shared; smoke.onFailure is "keep"',
    );
  });

  describe('an earlier run that built and did not publish', () => {
    const published = publishedVersions('web', ['1.0.0'], { 'gild:fingerprint': 'fp-old' });
    const candidate = (tags: Record<string, string>) => builtAmi('ami-cand', { 'gild:status': 'candidate', 'gild:version': '1.0.1', 'gild:run-id': '20261129T100000Z-crash0', ...tags });

    it('is resumed when it is exactly what would be built now', () => {
      const plan = assemblePlan(input({ regionInventory: { parameters: published.parameters, amis: [...published.amis, candidate({})] } }));

      expect(plan.images[0]).toMatchObject({ action: 'resume', nextVersion: '1.0.1', fromRunId: '20261129T100000Z-crash0' });
      // No packer-exit step: a resume runs no Packer.
      expect(ids(plan)).toEqual(['lock:web', 'resume:web', 'smoke:web', 'discard:web:us-east-1', 'share:web:us-east-1', 'publish:web', 'release:web']);
      expect(stepById(plan, 'resume:web', 'resume')).toMatchObject({ amis: { [region]: 'ami-cand' }, snapshots: { [region]: ['snap-cand'] }, baseAmiId: baseAmi });
      expect(stepById(plan, 'publish:web', 'publish').amis).toEqual({ from: 'resume:web' });
      expect(formatRunPlan(plan)).toMatchInlineSnapshot(`
        "~ web: resume 1.0.1 from run 20261129T100000Z-crash0 — what goes into the image changed (the rendered template or the files it uses)
            resume 1.0.1 from run 20261129T100000Z-crash0: us-east-1 ami-cand — resume 1.0.1 from run 20261129T100000Z-crash0: built (candidate), not published, same fingerprint and base
            smoke test 1.0.1 — a failing image is never published: 0 checks on t3.micro
            if the smoke test fails: remove the AMI resume:web resumes in us-east-1 and its snapshots — a failing image is never published, so nothing would ever use it (smoke.onFailure is "deregister")
            describe 1.0.1 in us-east-1, private — after the smoke test, set the description and the image stays private: any grant on the AMI or its snapshots is removed
            publish 1.0.1: us-east-1 /golden/web/versions/1.0.1, us-east-1 /golden/web/v1, us-east-1 /golden/web/latest — the smoke test passed: publish 1.0.1 in us-east-1"
      `);
    });

    it('is resumed under its own number when its publish raised the ledger and the run died before naming it', () => {
      const ledger = parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: { '1.0': '1.0.1' }, revoked: {} }));
      const plan = assemblePlan(input({ regionInventory: { parameters: [...published.parameters, ledger], amis: [...published.amis, candidate({ 'gild:status': 'tested' })] } }));

      expect(plan.images[0]).toMatchObject({ action: 'resume', nextVersion: '1.0.1', fromRunId: '20261129T100000Z-crash0' });
      expect(stepById(plan, 'publish:web', 'publish').version).toBe('1.0.1');
      // gild retire keeps it for that run, rather than cleaning up an AMI the ledger's number belongs to.
      expect(
        ids(assemblePlan({ ...input({ regionInventory: { parameters: [...published.parameters, ledger], amis: [...published.amis, candidate({ 'gild:status': 'tested' })] } }), mode: 'retire' })),
      ).not.toContain(`cleanup:web:${region}:ami-cand`);
    });

    it('is not resumed under its number once the ledger has a newer one: that number may have named another AMI', () => {
      const ledger = parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: { '1.0': '1.0.2' }, revoked: {} }));
      const plan = assemblePlan(input({ regionInventory: { parameters: [...published.parameters, ledger], amis: [...published.amis, candidate({ 'gild:status': 'tested' })] } }));

      expect(plan.images[0]).toMatchObject({ action: 'build', nextVersion: '1.0.3' });
      expect(ids(plan)).toContain(`cleanup:web:${region}:ami-cand`);
    });

    it('is cleaned up, with the reason, when what it was built from differs', () => {
      const plan = assemblePlan(input({ regionInventory: { parameters: published.parameters, amis: [...published.amis, candidate({ 'gild:fingerprint': 'fp-stale' })] } }));

      expect(plan.images[0]).toMatchObject({ action: 'build', nextVersion: '1.0.1' });
      expect(ids(plan)).toEqual([
        'lock:web',
        `cleanup:web:${region}:ami-cand`,
        'build:web',
        'packer-exit:web',
        'smoke:web',
        'discard:web:us-east-1',
        'share:web:us-east-1',
        'publish:web',
        'release:web',
      ]);
      expect(stepById(plan, `cleanup:web:${region}:ami-cand`, 'cleanup')).toMatchObject({
        amiId: 'ami-cand',
        snapshotIds: ['snap-cand'],
        status: 'candidate',
        after: ['lock:web'],
        reason: 'built by run 20261129T100000Z-crash0 (gild:status=candidate, version 1.0.1) and never published: what goes into the image changed since, so it can never be published',
      });
    });

    it('is resumed when its smoke test ran no check (untested), and tested again: untested is never failed', () => {
      const plan = assemblePlan(
        input({ regionInventory: { parameters: published.parameters, amis: [...published.amis, candidate({ 'gild:status': 'untested', 'gild:smoke-skipped': 'no check ran' })] } }),
      );

      expect(plan.images[0]).toMatchObject({ action: 'resume', nextVersion: '1.0.1' });
      expect(stepById(plan, 'resume:web', 'resume').reason).toContain('built (untested)');
      expect(ids(plan)).toContain('smoke:web');
    });

    it('is cleaned up when it failed, even when the image itself is unchanged', () => {
      const current = publishedVersions('web', ['1.0.0']);
      const plan = assemblePlan(
        input({ regionInventory: { parameters: current.parameters, amis: [...current.amis, candidate({ 'gild:status': 'failed', 'gild:failure': 'smoke test failed: check "nginx" exited 3' })] } }),
      );

      expect(plan.images[0]).toMatchObject({ action: 'unchanged' });
      expect(ids(plan)).toEqual(['lock:web', `cleanup:web:${region}:ami-cand`, 'release:web']);
      expect(formatRunPlan(plan)).toMatchInlineSnapshot(`
        "= web: unchanged at 1.0.0 — unchanged since 1.0.0 (same definition, templates and base AMI); use --force to rebuild
            clean up us-east-1 ami-cand + snap-cand — built by run 20261129T100000Z-crash0 (gild:status=failed, version 1.0.1) and never published: it failed (smoke test failed: check "nginx" exited 3)"
      `);
    });

    it('is kept, and shown, when it is tagged gild:keep-reason until its gild:keep-until', () => {
      const current = publishedVersions('web', ['1.0.0']);
      const keptAmi = candidate({ 'gild:status': 'failed', 'gild:keep-reason': 'INC-123 forensics', 'gild:keep-until': '2026-12-01T00:00:00.000Z' });
      const plan = assemblePlan(input({ regionInventory: { parameters: current.parameters, amis: [...current.amis, keptAmi] } }));

      expect(plan.steps).toEqual([]);
      expect(plan.kept).toEqual([{ image: 'web', region, amiId: 'ami-cand', version: '1.0.1', reason: 'kept on purpose: INC-123 forensics (until 2026-12-01T00:00:00.000Z, gild:keep-until)' }]);
    });

    it('is cleaned up, saying so, once its gild:keep-until has passed', () => {
      const current = publishedVersions('web', ['1.0.0']);
      const keptAmi = candidate({ 'gild:status': 'failed', 'gild:failure': 'smoke failed', 'gild:keep-reason': 'INC-123 forensics', 'gild:keep-until': '2026-11-29T11:00:00.000Z' });
      const plan = assemblePlan(input({ regionInventory: { parameters: current.parameters, amis: [...current.amis, keptAmi] } }));

      expect(plan.kept).toEqual([]);
      expect(stepById(plan, `cleanup:web:${region}:ami-cand`, 'cleanup').reason).toBe(
        'built by run 20261129T100000Z-crash0 (gild:status=failed, version 1.0.1) and never published: it failed (smoke failed); it was kept on purpose (INC-123 forensics) until 2026-11-29T11:00:00.000Z (gild:keep-until), and that has passed',
      );
    });

    it('counts the keep period from the build when an older gild stamped no gild:keep-until', () => {
      const current = publishedVersions('web', ['1.0.0']);
      const legacy = candidate({ 'gild:status': 'failed', 'gild:keep-reason': 'INC-99', 'gild:built-at': '2026-11-20T00:00:00.000Z' });
      const recent = assemblePlan({
        ...input({ regionInventory: { parameters: current.parameters, amis: [...current.amis, legacy] } }),
        settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, keepFailedDays: 10 },
      });
      const expired = assemblePlan(input({ regionInventory: { parameters: current.parameters, amis: [...current.amis, legacy] } }));

      expect(recent.kept.map((kept) => kept.reason)).toEqual(['kept on purpose: INC-99 (until 2026-11-30T00:00:00.000Z, keepFailedDays 10 from its build)']);
      expect(stepById(expired, `cleanup:web:${region}:ami-cand`, 'cleanup').reason).toMatch(
        /; it was kept on purpose \(INC-99\) until 2026-11-27T00:00:00\.000Z \(keepFailedDays 7 from its build\), and that has passed$/,
      );
    });
  });

  describe('an AMI Packer created that gild never tagged', () => {
    const untagged = (name: string, tags: Record<string, string> = {}) => ami(`ami-${name.length}x`, tags, { name, snapshotIds: ['snap-untagged'] });

    it("is recognised by the build step's name, then tagged and cleaned up with its snapshots, once its run is gone", () => {
      const current = publishedVersions('web', ['1.0.0']);
      const leaked = untagged('web-1.0.1-20261129T100000Z-crash0');
      const plan = assemblePlan(input({ regionInventory: { parameters: current.parameters, amis: current.amis, untaggedAmis: [leaked] } }));

      expect(stepById(plan, `cleanup:web:${region}:${leaked.amiId}`, 'cleanup')).toEqual({
        id: `cleanup:web:${region}:${leaked.amiId}`,
        kind: 'cleanup',
        image: 'web',
        region,
        amiId: leaked.amiId,
        snapshotIds: ['snap-untagged'],
        status: '(untagged)',
        untagged: { runId: '20261129T100000Z-crash0', version: '1.0.1', name: 'web-1.0.1-20261129T100000Z-crash0' },
        after: ['lock:web'],
        reason: `${leaked.amiId} carries no gild tags, but its name web-1.0.1-20261129T100000Z-crash0 is the build step's for web 1.0.1 in run 20261129T100000Z-crash0, which is gone (it holds no lock on web): gild stopped between Packer's CreateImage and its tagging. Tag it as gild's, then deregister it with its snapshots`,
        precondition: `${leaked.amiId} still has no gild:image tag other than web, no parameter names it and nothing uses it`,
      });
      expect(ids(plan)).toEqual(['lock:web', `cleanup:web:${region}:${leaked.amiId}`, 'release:web']);
    });

    it('leaves what is not an untagged build of this image by another run, and everything while a live run holds the lock', () => {
      const current = publishedVersions('web', ['1.0.0']);
      const others = [
        untagged('web-api-1.0.1-20261129T100000Z-crash0'),
        untagged(`web-1.0.1-${runId}`),
        untagged('web-golden-copy'),
        untagged('web-1.0.1-20261129T100000Z-crash0', { 'gild:image': 'api' }),
      ];
      expect(assemblePlan(input({ regionInventory: { parameters: current.parameters, amis: current.amis, untaggedAmis: others } })).steps).toEqual([]);

      const raw = lease('20261129T100000Z-crash0', { expiresAt: '2026-11-29T12:30:00.000Z' });
      const leaked = untagged('web-1.0.1-20261129T100000Z-crash0');
      const locked = assemblePlan(
        input({
          regionInventory: { parameters: [...current.parameters, parameter('/golden/web/lock', raw)], amis: current.amis, untaggedAmis: [leaked] },
          leases: { web: observeLeaseState(raw, otherHost) },
        }),
      );
      expect(locked.steps).toEqual([]);
    });
  });

  describe('locks', () => {
    it('does nothing at all to an image whose lock a live run holds, and says who holds it', () => {
      const raw = lease('20261129T115000Z-other0', { expiresAt: '2026-11-29T12:30:00.000Z' });
      const plan = assemblePlan(input({ regionInventory: { parameters: [parameter('/golden/web/lock', raw)] }, leases: { web: observeLeaseState(raw, otherHost) } }));

      expect(plan.steps).toEqual([]);
      expect(plan.images[0]).toMatchObject({ action: 'locked', lease: { runId: '20261129T115000Z-other0', host: 'ci-runner-7', pid: 4242 } });
      expect(formatRunPlan(plan)).toMatchInlineSnapshot(
        `"# web: left alone — run 20261129T115000Z-other0 (pid 4242 on ci-runner-7) holds its lock /golden/web/lock since 2026-11-29T11:00:00.000Z; it expires at 2026-11-29T12:30:00.000Z unless renewed. Wait for that run to finish, or if it is gone, run \`gild unlock web --yes\`"`,
      );
    });

    it('takes over an expired lease: unlock, then lock', () => {
      const raw = lease('20261129T080000Z-gone00', { expiresAt: '2026-11-29T11:59:59.000Z' });
      const plan = assemblePlan(input({ leases: { web: observeLeaseState(raw, otherHost) } }));

      expect(ids(plan).slice(0, 2)).toEqual(['unlock:web', 'lock:web']);
      expect(stepById(plan, 'unlock:web', 'unlock')).toMatchObject({
        observedValue: raw,
        reason: 'take over the stale lock: it expired at 2026-11-29T11:59:59.000Z (run 20261129T080000Z-gone00 on ci-runner-7 stopped renewing it)',
      });
      expect(stepById(plan, 'lock:web', 'lock').after).toEqual(['unlock:web']);
    });

    it('takes over an unexpired lease whose owner is a dead pid on this host', () => {
      const raw = JSON.stringify({
        ...JSON.parse(lease('20261129T115000Z-dead00', { host: 'this-host', pid: 999_999, expiresAt: '2026-11-29T12:30:00.000Z' })),
        bootId: 'boot-1',
        pidNamespace: 'pid:[4026531836]',
      });
      const state = observeLeaseState(raw, { host: 'this-host', bootId: 'boot-1', pidNamespace: 'pid:[4026531836]', isPidAlive: (pid) => pid !== 999_999 });
      const plan = assemblePlan(input({ leases: { web: state } }));

      expect(state).toMatchObject({ kind: 'held', ownerAlive: false });
      expect(stepById(plan, 'unlock:web', 'unlock').reason).toBe(
        'take over the stale lock: its owner, run 20261129T115000Z-dead00 (pid 999999 on this-host, same boot and PID namespace), is no longer running',
      );
      expect(plan.images[0]).toMatchObject({ action: 'build' });
    });
  });

  it("sweeps a dead run's instance, key pair and security group, and nothing of a live run", () => {
    const dead = '20261129T080000Z-dead00';
    const live = '20261129T115000Z-live00';
    const api = resolvedImageFixture({ name: 'api' });
    const deadRaw = lease(dead, { expiresAt: '2026-11-29T09:00:00.000Z' });
    const liveRaw = lease(live, { expiresAt: '2026-11-29T12:30:00.000Z' });
    const plan = assemblePlan(
      input({
        images: [web, api],
        leases: { web: observeLeaseState(deadRaw, otherHost), api: observeLeaseState(liveRaw, otherHost) },
        regionInventory: {
          instances: [
            instance('i-dead', '2026-11-29T08:05:00.000Z', { 'gild:role': 'build', 'gild:run-id': dead }),
            instance('i-live', '2026-11-29T08:05:00.000Z', { 'gild:role': 'build', 'gild:run-id': live }),
          ],
          temporaryResources: [
            temporaryResource('key-pair', 'key-dead', `gild_${dead}_web`, dead),
            temporaryResource('security-group', 'sg-dead', `gild-build-${dead}-web`, dead),
            temporaryResource('key-pair', 'key-live', `gild_${live}_api`, live),
            temporaryResource('security-group', 'sg-live', `gild-build-${live}-api`, live),
          ],
        },
      }),
    );

    const sweeps = plan.steps.filter((planned) => planned.kind === 'sweep');
    expect(sweeps.map((planned) => planned.id)).toEqual([`sweep:${region}:i-dead`, `sweep:${region}:key-dead`, `sweep:${region}:sg-dead`]);
    // A security group cannot go while an instance uses it.
    expect(stepById(plan, `sweep:${region}:sg-dead`, 'sweep').after).toEqual([`sweep:${region}:i-dead`]);
    // The image's lock waits for the sweep, so the new run never races the leftovers.
    expect(stepById(plan, 'lock:web', 'lock').after).toEqual([...sweeps.map((planned) => planned.id), 'unlock:web']);
    expect(plan.images.map((decision) => decision.action)).toEqual(['build', 'locked']);
    expect(formatRunPlan(plan).split('Leftovers of runs that are gone:\n')[1]).toMatchInlineSnapshot(`
      "    sweep us-east-1 instance i-dead — terminate leftover build instance i-dead (running): its run 20261129T080000Z-dead00 is gone: the lock it held is stale (it expired at 2026-11-29T09:00:00.000Z (run 20261129T080000Z-dead00 on ci-runner-7 stopped renewing it))
          sweep us-east-1 key-pair gild_20261129T080000Z-dead00_web (key-dead) — delete leftover key-pair gild_20261129T080000Z-dead00_web: its run 20261129T080000Z-dead00 is gone: the lock it held is stale (it expired at 2026-11-29T09:00:00.000Z (run 20261129T080000Z-dead00 on ci-runner-7 stopped renewing it))
          sweep us-east-1 security-group gild-build-20261129T080000Z-dead00-web (sg-dead) — delete leftover security-group gild-build-20261129T080000Z-dead00-web: its run 20261129T080000Z-dead00 is gone: the lock it held is stale (it expired at 2026-11-29T09:00:00.000Z (run 20261129T080000Z-dead00 on ci-runner-7 stopped renewing it))"
    `);
  });

  it("builds an image on a base image rebuilt in the same run, from that run's publish", () => {
    const base = resolvedImageFixture({ name: 'base' });
    const app = resolvedImageFixture({ name: 'app', base: { kind: 'image', image: 'base', range: undefined }, dependsOn: ['base'] });
    const plan = assemblePlan(
      input({
        // Listed dependant first: the plan orders dependencies first.
        images: [app, base],
        bases: { base: { kind: 'resolved', amiId: baseAmi, source: 'ssm:/aws/service/al2023' }, app: { kind: 'image', image: 'base', range: undefined } },
      }),
    );

    expect(plan.options.images).toEqual(['base', 'app']);
    expect(stepById(plan, 'build:app', 'build')).toMatchObject({
      base: { kind: 'published-in-run', from: 'publish:base', image: 'base', version: '1.0.0' },
      after: ['lock:app', 'publish:base'],
    });
  });

  it('retires the versions beyond retention.keep once the new one is published', () => {
    const keepTwo = resolvedImageFixture({ name: 'web', version: '1.0.0', retention: { keep: 2, minAgeDays: 0, phases: {} } });
    const plan = assemblePlan(input({ images: [keepTwo], regionInventory: publishedVersions('web', ['1.0.0', '1.0.1', '1.0.2']), force: true }));

    const retirements = plan.steps.filter((planned) => planned.kind === 'retire');
    expect(retirements.map((planned) => planned.id)).toEqual([`retire:web:1.0.0:${region}:deregister`, `retire:web:1.0.1:${region}:deregister`]);
    expect(stepById(plan, `retire:web:1.0.0:${region}:deregister`, 'retire')).toMatchObject({
      amiId: 'ami-web-100',
      phase: 'deregister',
      snapshotIds: ['snap-web-100'],
      parameterName: '/golden/web/versions/1.0.0',
      after: ['publish:web'],
      reason: 'older than the newest 2 versions (retention keeps 2)',
    });
    expect(ids(plan).at(-1)).toBe('release:web');
  });

  it('keeps a version beyond retention that something still uses', () => {
    const keepOne = resolvedImageFixture({ name: 'web', version: '1.0.0', retention: { keep: 1, minAgeDays: 0, phases: {} } });
    const published = publishedVersions('web', ['1.0.0', '1.0.1']);
    const plan = assemblePlan(input({ images: [keepOne], regionInventory: { ...published, references: { 'ami-web-100': ['instance i-prod1'] } } }));

    expect(plan.steps.filter((planned) => planned.kind === 'retire')).toEqual([]);
    expect(plan.kept).toEqual([
      { image: 'web', region, amiId: 'ami-web-100', version: '1.0.0', reason: 'kept: in use by instance i-prod1 (due: older than the newest 1 version (retention keeps 1))' },
    ]);
  });

  it('finishes a retirement that stopped halfway: a published AMI no parameter names any more', () => {
    const published = publishedVersions('web', ['1.0.1']);
    const orphan = builtAmi('ami-web-100', { 'gild:status': 'published', 'gild:version': '1.0.0' });
    const plan = assemblePlan(input({ regionInventory: { parameters: published.parameters, amis: [...published.amis, orphan] } }));

    expect(plan.images[0]).toMatchObject({ action: 'unchanged' });
    expect(ids(plan)).toEqual(['lock:web', `retire:web:1.0.0:${region}:deregister`, 'release:web']);
    expect(stepById(plan, `retire:web:1.0.0:${region}:deregister`, 'retire')).toMatchObject({
      amiId: 'ami-web-100',
      parameterName: undefined,
      snapshotIds: ['snap-web-100'],
      after: ['lock:web'],
      reason: 'its retirement already began (/golden/web/versions/1.0.0 is gone in us-east-1)',
    });
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
