/**
 * Who is told what (settings `notify`), planned purely from the plan's own steps: each event is a `notify` step per
 * target that waits for the steps whose work it announces, shown in the plan ("notify <topic> of gild.image.…"):
 *
 * - `published`: after the image's publish step;
 * - `failed`: a `notify-failure` step, run only when a step of the image fails (its row's `runsWhen`); an image the
 *   plan itself cannot build (a pipeline error, exit 1) is told at once;
 * - `revoked`, `restored`, `retired`: after that version's revoke, restore or retire steps (and the pointers they move);
 * - `rolled-back`: after the hold a rollback records and the pointers it moves.
 *
 * A notification changes nothing of the image: it takes no lease, nothing waits for it, and its failure is reported
 * without failing the image (its row in src/apply/step-table.ts).
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { NotifyEvent, NotifySettings } from '../notify/notify-settings.ts';
import type { ImageDecision, NotifyTarget, PlanStep } from './run-plan.ts';

type NotifyStep = Extract<PlanStep, { kind: 'notify' | 'notify-failure' }>;

export interface NotifyPlanInput {
  readonly notify: NotifySettings | undefined;
  /** Every image the plan may name (a cascade revokes other images than the one asked for). */
  readonly images: readonly Pick<ResolvedImage, 'name' | 'buildRegion' | 'regions'>[];
  readonly decisions: readonly ImageDecision[];
  readonly steps: readonly PlanStep[];
}

/** What one event says, before it is addressed to its targets. */
interface Announcement {
  readonly kind: NotifyStep['kind'];
  readonly image: string;
  readonly event: NotifyEvent;
  readonly version: string | undefined;
  readonly amis: NotifyStep['amis'];
  readonly message: string;
  readonly details: Readonly<Record<string, string>>;
  readonly after: readonly string[];
  readonly publishStep?: string;
}

export function planNotifications(input: NotifyPlanInput): NotifyStep[] {
  const { notify } = input;
  if (!notify) return [];
  const images = new Map(input.images.map((image) => [image.name, image]));
  const steps: NotifyStep[] = [];
  for (const announcement of announcementsOf(input)) {
    const image = images.get(announcement.image);
    if (!image) continue;
    for (const target of targetsOf(notify, image, announcement.event)) {
      const id = `notify:${announcement.image}:${announcement.event}:${announcement.version ?? '-'}:${targetKey(target)}`;
      steps.push({
        id,
        kind: announcement.kind,
        image: announcement.image,
        event: announcement.event,
        version: announcement.version,
        target,
        regions: [...image.regions],
        amis: announcement.amis,
        message: announcement.message,
        details: announcement.details,
        after: [...announcement.after],
        ...(announcement.publishStep ? { publishStep: announcement.publishStep } : {}),
        reason: `tell ${describeTarget(target)} that ${announcement.image}${announcement.version ? ` ${announcement.version}` : ''} ${announcement.kind === 'notify-failure' ? 'failed, if a step of it fails' : wordOf(announcement.event)} (gild.image.${announcement.event})`,
        precondition: 'none: it changes nothing; sent at least once (a FIFO topic drops a repeat within five minutes)',
      });
    }
  }
  return steps;
}

/** The topics and bus an image's event goes to: every image's, then the image's own. */
export function targetsOf(notify: NotifySettings, image: Pick<ResolvedImage, 'name' | 'buildRegion'>, event: NotifyEvent): NotifyTarget[] {
  const wanted = notify.events.includes(event);
  const own = Object.hasOwn(notify.images, image.name) ? notify.images[image.name] : undefined;
  const topics = new Set([...(wanted ? notify.sns : []), ...(own && (own.events ?? notify.events).includes(event) ? own.sns : [])]);
  return [
    ...[...topics].map((topicArn): NotifyTarget => ({ kind: 'sns', topicArn })),
    ...(wanted && notify.eventBridge ? [{ kind: 'eventbridge' as const, bus: notify.eventBridge.bus, source: notify.eventBridge.source, region: notify.eventBridge.region ?? image.buildRegion }] : []),
  ];
}

function announcementsOf(input: NotifyPlanInput): Announcement[] {
  const announcements: Announcement[] = [];
  const ofImage = (image: string) => input.steps.filter((step) => 'image' in step && step.image === image);
  const idsOf = (steps: readonly PlanStep[]) => steps.map((step) => step.id);
  /** The pointer moves (and descendant marks) a revoke, restore or rollback makes beside its own steps. */
  const alongside = (image: string) => idsOf(ofImage(image).filter((step) => step.kind === 'repoint' || step.kind === 'mark-descendant' || step.kind === 'unmark-descendant'));

  for (const decision of input.decisions) {
    const version = decision.action === 'build' || decision.action === 'resume' ? decision.nextVersion : decision.action === 'finish' ? decision.version : undefined;
    const steps = ofImage(decision.image);
    const publish = steps.find((step) => step.kind === 'publish');
    if (publish?.kind === 'publish') {
      announcements.push({
        kind: 'notify',
        image: decision.image,
        event: 'published',
        version: publish.version,
        amis: { from: publish.id },
        message: decision.reason,
        details: decision.action !== 'error' && decision.currentVersion ? { previousVersion: decision.currentVersion } : {},
        after: [publish.id],
      });
    }
    if (decision.action === 'error' && decision.kind === 'pipeline') {
      announcements.push({ kind: 'notify', image: decision.image, event: 'failed', version: undefined, amis: { amis: {} }, message: decision.reason, details: { stage: 'plan' }, after: [] });
    } else if (version !== undefined) {
      // Every step of the image that can fail it, bar giving the lease back (which runs whatever happened). Steps after
      // the publish (retire, protect, distribution accounts) too: the stage words such a failure from the publish's result.
      const watched = steps.filter((step) => step.kind !== 'release' && step.kind !== 'notify' && step.kind !== 'notify-failure');
      const built = watched.find((step) => step.kind === 'build' || step.kind === 'resume');
      announcements.push({
        kind: 'notify-failure',
        image: decision.image,
        event: 'failed',
        version,
        amis: built ? { from: built.id } : { amis: {} },
        message: decision.reason,
        details: {},
        after: idsOf(watched),
        ...(publish ? { publishStep: publish.id } : {}),
      });
    }
  }

  for (const [, group] of groupByVersion(input.steps, 'revoke')) {
    const first = group[0]!;
    announcements.push({
      kind: 'notify',
      image: first.image,
      event: 'revoked',
      version: first.version,
      amis: { amis: Object.fromEntries(group.map((step) => [step.region, step.amiId])) },
      message: first.revokedReason,
      details: { ...(first.by ? { by: first.by } : {}), ...(first.replacement ? { replacement: first.replacement } : {}), disabled: String(group.some((step) => step.disable)) },
      after: [...idsOf(group), ...alongside(first.image)],
    });
  }
  for (const [, group] of groupByVersion(input.steps, 'restore')) {
    const first = group[0]!;
    announcements.push({
      kind: 'notify',
      image: first.image,
      event: 'restored',
      version: first.version,
      amis: { amis: Object.fromEntries(group.map((step) => [step.region, step.amiId])) },
      message: first.restoredReason,
      details: { by: first.by, revokedReason: first.revoked.reason },
      after: [...idsOf(group), ...alongside(first.image)],
    });
  }
  for (const [, group] of groupByVersion(input.steps, 'retire')) {
    const first = group[0]!;
    announcements.push({
      kind: 'notify',
      image: first.image,
      event: 'retired',
      version: first.version,
      amis: { amis: Object.fromEntries(group.map((step) => [step.region, step.amiId])) },
      message: first.reason,
      details: { phase: [...new Set(group.map((step) => step.phase))].join(', ') },
      after: idsOf(group),
    });
  }
  for (const image of new Set(input.steps.flatMap((step) => (step.kind === 'hold' && step.value !== undefined ? [step.image] : [])))) {
    const holds = input.steps.filter((step): step is Extract<PlanStep, { kind: 'hold' }> => step.kind === 'hold' && step.image === image && step.value !== undefined);
    const record = holdRecord(holds[0]!.value!);
    const pointers = holds.map((step) => step.parameterName.slice(step.parameterName.lastIndexOf('/holds/') + '/holds/'.length));
    const moves = ofImage(image).flatMap((step) => (step.kind === 'repoint' && step.version === record.version ? step.moves : []));
    announcements.push({
      kind: 'notify',
      image,
      event: 'rolled-back',
      version: record.version,
      amis: { amis: Object.fromEntries(moves.map((move) => [move.region, move.amiId])) },
      message: record.reason ?? `${pointers.join(' and ')} rolled back`,
      details: { pointers: pointers.join(', '), ...(record.by ? { by: record.by } : {}) },
      after: [...idsOf(holds), ...alongside(image)],
    });
  }
  return announcements;
}

type StepOf<K extends 'revoke' | 'restore' | 'retire'> = Extract<PlanStep, { kind: K }>;

/** The steps of one kind, by image and version, in the plan's order. */
function groupByVersion<K extends 'revoke' | 'restore' | 'retire'>(steps: readonly PlanStep[], kind: K): Map<string, StepOf<K>[]> {
  const groups = new Map<string, StepOf<K>[]>();
  for (const step of steps) {
    if (step.kind !== kind || !('version' in step)) continue;
    const key = `${step.image} ${step.version}`;
    groups.set(key, [...(groups.get(key) ?? []), step as StepOf<K>]);
  }
  return groups;
}

/** A rollback's hold record (src/plan/plan-pointer-change.ts writes it as JSON). */
function holdRecord(value: string): { version: string | undefined; reason: string | undefined; by: string | undefined } {
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const text = (key: string) => (typeof parsed[key] === 'string' ? (parsed[key] as string) : undefined);
    return { version: text('version'), reason: text('reason'), by: text('by') };
  } catch {
    return { version: undefined, reason: undefined, by: undefined };
  }
}

const targetKey = (target: NotifyTarget) => (target.kind === 'sns' ? target.topicArn : `events:${target.region}:${target.bus}`);
const describeTarget = (target: NotifyTarget) => (target.kind === 'sns' ? target.topicArn : `EventBridge bus ${target.bus} in ${target.region}`);

const words: Readonly<Record<NotifyEvent, string>> = {
  published: 'is published',
  failed: 'failed',
  revoked: 'is revoked',
  'rolled-back': 'is what a rollback moved its pointers back to',
  restored: 'is restored',
  retired: 'is retired',
};
const wordOf = (event: NotifyEvent) => words[event];
