/** Who is told what: notify steps planned purely from the plan's own steps and the settings' `notify`. */
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi, RegionInventory } from '../../src/observe/inventory.ts';
import { notifySettingsSchema, unknownNotifiedImages, type NotifySettingsInput } from '../../src/notify/notify-settings.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import { planNotifications } from '../../src/plan/plan-notifications.ts';
import { planPointerChange, type PointerChange } from '../../src/plan/plan-pointer-change.ts';
import { parseRunPlan } from '../../src/plan/run-plan-schema.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { inventoryFixture } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const topic = 'arn:aws:sns:us-east-1:123456789012:golden-images';
const webTopic = 'arn:aws:sns:eu-west-1:123456789012:web-team.fifo';
const web = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] });
const notify = (input: NotifySettingsInput) => notifySettingsSchema.parse(input);

type NotifyStep = Extract<PlanStep, { kind: 'notify' | 'notify-failure' }>;
const notifySteps = (plan: RunPlan) => plan.steps.filter((step): step is NotifyStep => step.kind === 'notify' || step.kind === 'notify-failure');

function runPlan(settings: NotifySettingsInput | undefined): RunPlan {
  return assemblePlan({
    runId: 'r1',
    now,
    images: [web],
    fingerprints: { web: 'fp' },
    inventory: inventoryFixture({ regions: { 'us-east-1': {}, 'us-west-2': {} }, bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } } }),
    force: false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, ...(settings ? { notify: notify(settings) } : {}) },
  });
}

describe('planNotifications in a run', () => {
  it('plans nothing without settings notify', () => {
    expect(notifySteps(runPlan(undefined))).toEqual([]);
  });

  it('tells every topic, the image’s own topic and the bus in the build region once the publish is done, and plans the failure for when a step fails', () => {
    const plan = runPlan({ sns: [topic], images: { web: { sns: [webTopic] } }, eventBridge: {} });
    const steps = notifySteps(plan);
    expect(steps.map((step) => `${step.kind} ${step.event} ${step.version} ${step.target.kind === 'sns' ? step.target.topicArn : `${step.target.bus}@${step.target.region}`}`)).toEqual([
      `notify published 1.0.0 ${topic}`,
      `notify published 1.0.0 ${webTopic}`,
      'notify published 1.0.0 default@us-east-1',
      `notify-failure failed 1.0.0 ${topic}`,
      `notify-failure failed 1.0.0 ${webTopic}`,
      'notify-failure failed 1.0.0 default@us-east-1',
    ]);
    const published = steps[0]!;
    expect(published).toMatchObject({ after: ['publish:web'], amis: { from: 'publish:web' }, regions: ['us-east-1', 'us-west-2'], target: { kind: 'sns', topicArn: topic } });
    const failure = steps[3]!;
    // It watches every step that can fail the image, never the release (which always runs) nor another notification.
    expect(failure.after).toEqual(plan.steps.filter((step) => 'image' in step && !['release', 'notify', 'notify-failure'].includes(step.kind)).map((step) => step.id));
    expect(failure.after).toContain('lock:web');
    expect(failure.amis).toEqual({ from: 'build:web' });
    // The stage reads the publish's result to say whether the version was published before a later step failed.
    expect(failure.publishStep).toBe('publish:web');
    // The release does not wait for a notification: telling people holds no lease.
    expect(plan.steps.find((step) => step.kind === 'release')!.after.some((id) => id.startsWith('notify'))).toBe(false);
    expect(formatRunPlan(plan)).toContain(`notify ${topic} of gild.image.published 1.0.0 — tell ${topic} that web 1.0.0 is published (gild.image.published)`);
    expect(formatRunPlan(plan)).toContain('if a step of it fails: notify EventBridge bus default in us-east-1 of gild.image.failed 1.0.0');
    // A saved plan with notifications is a plan like any other.
    expect(parseRunPlan(JSON.parse(JSON.stringify(plan)))).toMatchObject({ problems: [] });
  });

  it('sends only the events asked for, and an image’s own topic only the events it asks for', () => {
    const plan = runPlan({ events: ['failed'], sns: [topic], images: { web: { sns: [webTopic], events: ['published'] } } });
    expect(notifySteps(plan).map((step) => `${step.event} ${step.target.kind === 'sns' ? step.target.topicArn : ''}`)).toEqual([`published ${webTopic}`, `failed ${topic}`]);
  });

  it('tells of an image the plan cannot build at once: the plan itself is its failure', () => {
    const plan = assemblePlan({
      runId: 'r1',
      now,
      images: [web],
      fingerprints: { web: 'fp' },
      inventory: inventoryFixture({ regions: { 'us-east-1': {}, 'us-west-2': {} }, bases: { web: { kind: 'missing', reason: 'no AMI matches my-base-*' } as never } }),
      force: false,
      settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, notify: notify({ sns: [topic] }) },
    });
    expect(plan.images[0]).toMatchObject({ action: 'error', kind: 'pipeline' });
    expect(notifySteps(plan)).toEqual([expect.objectContaining({ kind: 'notify', event: 'failed', after: [], message: (plan.images[0] as { reason: string }).reason })]);
  });
});

const ami = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${region === 'us-east-1' ? 'e' : 'w'}`;

/** Two published versions (1.0.0, 1.0.1) in both regions, latest and v1 on 1.0.1. */
function published(): Inventory {
  const byRegion: Record<string, RegionInventory> = {};
  for (const region of ['us-east-1', 'us-west-2']) {
    const versions = ['1.0.0', '1.0.1'];
    const amis: ObservedAmi[] = versions.map((version) => ({
      amiId: ami(version, region),
      name: `web-${version}`,
      state: 'available',
      createdAt: '2026-11-01T00:00:00.000Z',
      deprecationTime: undefined,
      snapshotIds: [],
      tags: { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published', 'gild:published-at': '2026-11-01T00:00:00.000Z' },
    }));
    const parameters = [
      ...versions.map((version) => ({ name: `/golden/web/versions/${version}`, value: ami(version, region), version: 1, lastModified: undefined })),
      ...['latest', 'v1'].map((pointer) => ({ name: `/golden/web/${pointer}`, value: ami('1.0.1', region), version: 1, lastModified: undefined })),
    ];
    byRegion[region] = { region, parameters, amis, instances: [], temporaryResources: [], snapshots: [], references: {} };
  }
  return { observedAt: now.toISOString(), ssmPrefix: '/golden', regions: byRegion, bases: {}, leases: {} };
}

function changePlan(change: PointerChange): RunPlan {
  const planned = planPointerChange({ runId: 'r1', now, image: web, inventory: published(), channels: { stable: { soakDays: 0 } }, by: 'ops@host', change, notify: notify({ sns: [topic] }) });
  if ('refused' in planned) throw new Error(planned.refused);
  return planned.plan;
}

describe('planNotifications in the lifecycle commands', () => {
  it('tells of a revoke once every region recorded it, the pointers moved and the AMIs are deprecated: reason, who, replacement and AMIs', () => {
    const plan = changePlan({ kind: 'revoke', version: '1.0.1', reason: 'CVE-2026-1234', disable: true });
    const [revoked, ...others] = notifySteps(plan);
    expect(others).toEqual([]);
    expect(revoked).toMatchObject({
      kind: 'notify',
      event: 'revoked',
      version: '1.0.1',
      message: 'CVE-2026-1234',
      amis: { amis: { 'us-east-1': ami('1.0.1', 'us-east-1'), 'us-west-2': ami('1.0.1', 'us-west-2') } },
      details: { by: 'ops@host', replacement: '1.0.0', disabled: 'true' },
    });
    const awaited = plan.steps.filter((step) => step.kind === 'revoke' || step.kind === 'repoint').map((step) => step.id);
    expect(awaited.length).toBeGreaterThan(4);
    expect([...revoked!.after].sort()).toEqual([...new Set(awaited)].sort());
  });

  it('tells of a rollback after its holds and moves, naming the version it went back to and the pointers', () => {
    const plan = changePlan({ kind: 'rollback', pointer: 'latest', to: undefined, reason: 'boot loops' });
    const [rolledBack] = notifySteps(plan);
    expect(rolledBack).toMatchObject({
      event: 'rolled-back',
      version: '1.0.0',
      message: 'boot loops',
      details: { pointers: 'latest, v1', by: 'ops@host' },
      amis: { amis: { 'us-east-1': ami('1.0.0', 'us-east-1'), 'us-west-2': ami('1.0.0', 'us-west-2') } },
      after: ['hold:web:latest', 'hold:web:v1', 'repoint:web:latest', 'repoint:web:v1'],
    });
  });

  it('tells nobody of a promotion (no such event)', () => {
    expect(notifySteps(changePlan({ kind: 'promote', channel: 'stable', version: '1.0.1' }))).toEqual([]);
  });
});

describe('planNotifications of retirements', () => {
  it('tells of each retired version once, with its AMIs in every region and the phases, after all of its retire steps', () => {
    const retire = (version: string, region: string, phase: 'deprecate' | 'deregister'): PlanStep => ({
      id: `retire:web:${version}:${region}`,
      kind: 'retire',
      image: 'web',
      version,
      region,
      amiId: ami(version, region),
      phase,
      snapshotIds: [],
      parameterName: undefined,
      after: ['lock:web'],
      reason: `retention keeps 1: ${version} is older`,
      precondition: 'not in use',
    });
    const steps = [retire('1.0.0', 'us-east-1', 'deregister'), retire('1.0.0', 'us-west-2', 'deregister'), retire('1.0.1', 'us-east-1', 'deprecate')];
    const told = planNotifications({ notify: notify({ sns: [topic] }), images: [web], decisions: [{ image: 'web', action: 'change', reason: 'retire', currentVersion: '1.0.2' }], steps });
    expect(told.map((step) => ({ event: step.event, version: step.version, amis: step.amis, details: step.details, after: step.after }))).toEqual([
      {
        event: 'retired',
        version: '1.0.0',
        amis: { amis: { 'us-east-1': ami('1.0.0', 'us-east-1'), 'us-west-2': ami('1.0.0', 'us-west-2') } },
        details: { phase: 'deregister' },
        after: ['retire:web:1.0.0:us-east-1', 'retire:web:1.0.0:us-west-2'],
      },
      { event: 'retired', version: '1.0.1', amis: { amis: { 'us-east-1': ami('1.0.1', 'us-east-1') } }, details: { phase: 'deprecate' }, after: ['retire:web:1.0.1:us-east-1'] },
    ]);
  });
});

describe('the notify settings', () => {
  it('refuse what SNS and EventBridge would, saying where and how to fix it', () => {
    const parsed = notifySettingsSchema.safeParse({ sns: ['golden-images'], eventBridge: { source: 'aws.ec2' }, events: [] });
    expect(parsed.success).toBe(false);
    const problems = parsed.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(problems).toEqual([
      expect.stringMatching(/^events: must list at least one of published, failed/),
      expect.stringMatching(/^sns\.0: is not an SNS topic ARN such as "arn:aws:sns:us-east-1:123456789012:golden-images"/),
      expect.stringMatching(/^eventBridge\.source: starts with "aws\.", which AWS reserves/),
    ]);
  });

  it('say which notify.images entry names no image', () => {
    expect(unknownNotifiedImages(notify({ images: { ngnix: { sns: [topic] }, web: { sns: [topic] } } }), ['web', 'nginx'])).toEqual([
      'pipeline/settings.ts: notify.images.ngnix: no image is named "ngnix" (images: web, nginx), so its topics are told nothing. Use an image\'s name, or remove the entry.',
    ]);
    expect(unknownNotifiedImages(undefined, ['web'])).toEqual([]);
  });
});
