/**
 * The plan file's schema: what `gild plan --json` writes and `gild run --plan file` accepts. A saved plan is a
 * request read from outside (a CI artifact passed between jobs), so it is checked like any other input: every
 * problem at once, each with its JSON path, before anything is observed or locked.
 *
 * The schema mirrors the types in `run-plan.ts`; `test/unit/run-plan-schema.test.ts` holds the two equal at the
 * type level (a field added to one and not the other fails `tsc`). Objects are strict: a field gild never writes
 * is a problem, not something to ignore.
 */
import { z } from 'zod';
import { runIdSchema } from '../run-id-schema.ts';
import { formatPath } from '../definition/format-issues.ts';
import { notifyEvents } from '../notify/notify-settings.ts';
import { planSchemaVersion, type PlanStep, type RunPlan } from './run-plan.ts';
import { stepWaits, waitCircles, type StepWait, type WaitEdge } from './step-waits.ts';

const text = z.string();
const optionalText = z.string().optional();
const texts = z.array(z.string());
const regionMap = <T extends z.ZodType>(value: T) => z.record(z.string(), value);

const stepCommon = { id: z.string().min(1), after: texts, reason: text, precondition: text };

const leaseSchema = z.strictObject({ runId: text, host: text, pid: z.number().int(), bootId: optionalText, pidNamespace: optionalText, takenAt: text, expiresAt: text });
const amiSourceSchema = z.union([z.strictObject({ from: text, copies: regionMap(text).optional() }), z.strictObject({ amis: regionMap(text) })]);
const copySourceSchema = z.union([z.strictObject({ from: text }), z.strictObject({ amiId: text })]);
const sharingSchema = z.strictObject({ accounts: texts, groups: texts, organizationArns: texts, organizationalUnitArns: texts });
const parameterWriteSchema = z.strictObject({ region: text, name: text, pointer: z.enum(['version', 'latest', 'major', 'channel']), previous: optionalText });
const pointerMoveSchema = z.strictObject({ region: text, name: text, amiId: text, previous: optionalText });
const buildBaseSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ami'), amiId: text, source: text }),
  z.strictObject({ kind: z.literal('published-in-run'), from: text, image: text, version: text, source: text }),
]);
const sweptResourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('instance'), id: text }),
  z.strictObject({ kind: z.literal('key-pair'), id: text, name: text }),
  z.strictObject({ kind: z.literal('security-group'), id: text, name: text }),
  z.strictObject({ kind: z.literal('takeover-claim'), id: text, name: text, value: text }),
]);

const notifyFields = {
  image: text,
  event: z.enum(notifyEvents),
  version: optionalText,
  target: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('sns'), topicArn: text }), z.strictObject({ kind: z.literal('eventbridge'), bus: text, source: text, region: text })]),
  regions: texts,
  amis: z.union([z.strictObject({ amis: regionMap(text) }), z.strictObject({ from: text })]),
  message: text,
  details: z.record(z.string(), text),
  publishStep: optionalText,
};

export const planStepSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...stepCommon,
    kind: z.literal('sweep'),
    region: text,
    resource: sweptResourceSchema,
    runId: optionalText,
    account: z.strictObject({ account: text, roleArn: text, image: text, lockRegion: text }).optional(),
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('unlock'), image: text, region: text, parameterName: text, observedValue: text, lease: leaseSchema.optional(), breakReason: text.optional() }),
  z.strictObject({ ...stepCommon, kind: z.literal('lock'), image: text, region: text, parameterName: text }),
  z.strictObject({ ...stepCommon, kind: z.literal('release'), image: text, region: text, parameterName: text }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('cleanup'),
    image: text,
    region: text,
    amiId: optionalText,
    snapshotIds: texts,
    status: text,
    untagged: z.strictObject({ runId: text, version: text, name: text }).optional(),
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('build'), image: text, version: text, regions: texts, base: buildBaseSchema, fingerprint: text, amiName: text }),
  z.strictObject({ ...stepCommon, kind: z.literal('resume'), image: text, version: text, amis: regionMap(text), snapshots: regionMap(texts), fromRunId: text, baseAmiId: text }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('copy'),
    image: text,
    version: text,
    region: text,
    sourceRegion: text,
    source: amiSourceSchema,
    kmsKeyId: optionalText,
    besideSmoke: optionalText,
    besideBuild: optionalText,
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('packer-exit'), image: text, version: text, build: text, besideSmoke: texts }),
  z.strictObject({ ...stepCommon, kind: z.literal('smoke'), image: text, version: text, amis: amiSourceSchema, previousVersion: optionalText, region: optionalText }),
  z.strictObject({ ...stepCommon, kind: z.literal('discard'), image: text, version: text, region: text, amis: amiSourceSchema, onFailure: z.enum(['deregister', 'keep']) }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('share'),
    image: text,
    version: text,
    region: text,
    amis: amiSourceSchema,
    launchPermissions: sharingSchema,
    volumePermissions: z.strictObject({ accounts: texts, groups: texts }),
    description: text,
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('publish'), image: text, version: text, amis: amiSourceSchema, writes: z.array(parameterWriteSchema) }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('retire'),
    image: text,
    version: text,
    region: text,
    amiId: text,
    phase: z.enum(['deprecate', 'disable', 'deregister']),
    snapshotIds: texts,
    parameterName: optionalText,
    unprotect: z.boolean().optional(),
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('protect'), image: text, version: text, region: text, amis: amiSourceSchema }),
  z.strictObject({ ...stepCommon, kind: z.literal('repoint'), image: text, version: text, pointer: text, moves: z.array(pointerMoveSchema) }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('revoke'),
    image: text,
    version: text,
    region: text,
    amiId: text,
    revokedReason: text,
    disable: z.boolean(),
    phase: z.enum(['record', 'deprecate']).optional(),
    by: optionalText,
    replacement: optionalText,
    ledger: z.boolean().optional(),
  }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('restore'),
    image: text,
    version: text,
    region: text,
    amiId: text,
    restoredReason: text,
    by: text,
    revoked: z.strictObject({ reason: text, at: text, by: text, replacement: optionalText }),
    ledger: z.boolean().optional(),
  }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('unbin'),
    image: text,
    version: text,
    region: text,
    amiId: text,
    snapshotIds: texts,
    parameterName: text,
    status: z.enum(['published', 'revoked']),
    revoked: z.strictObject({ reason: text, at: text, by: text, replacement: optionalText }).optional(),
    by: text,
    restoredReason: text,
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('mark-descendant'), image: text, version: text, region: text, amiId: text, descendant: z.strictObject({ image: text, version: text }), tag: text }),
  z.strictObject({ ...stepCommon, kind: z.literal('unmark-descendant'), image: text, version: text, region: text, amiId: text, descendant: z.strictObject({ image: text, version: text }), tag: text }),
  z.strictObject({ ...stepCommon, kind: z.literal('distribute'), image: text, version: text, account: text, roleArn: text, region: text, source: copySourceSchema, kmsKeyId: optionalText }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('account-smoke'),
    image: text,
    version: text,
    account: text,
    roleArn: text,
    region: text,
    regions: texts.optional(),
    copies: regionMap(copySourceSchema),
    launch: z.strictObject({ subnetId: optionalText, securityGroupIds: texts, instanceProfile: optionalText }),
  }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('account-publish'),
    image: text,
    version: text,
    account: text,
    roleArn: text,
    copies: regionMap(copySourceSchema),
    writes: z.array(parameterWriteSchema),
  }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('retire-copy'),
    image: text,
    version: text,
    account: text,
    roleArn: text,
    region: text,
    amiId: text,
    snapshotIds: texts,
    parameterName: optionalText,
    phase: z.enum(['deprecate', 'disable']).optional(),
  }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('account-revoke'),
    image: text,
    version: text,
    account: text,
    roleArn: text,
    region: text,
    amiId: text,
    phase: z.enum(['record', 'deprecate']),
    revokedReason: text,
    disable: z.boolean(),
    by: text,
    replacement: optionalText,
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('account-repoint'), image: text, version: text, account: text, roleArn: text, pointer: text, moves: z.array(pointerMoveSchema) }),
  z.strictObject({
    ...stepCommon,
    kind: z.literal('account-restore'),
    image: text,
    version: text,
    account: text,
    roleArn: text,
    region: text,
    amiId: text,
    restoredReason: text,
    by: text,
    revoked: z.strictObject({ reason: text, at: text, by: text, replacement: optionalText }),
  }),
  z.strictObject({ ...stepCommon, kind: z.literal('notify'), ...notifyFields }),
  z.strictObject({ ...stepCommon, kind: z.literal('notify-failure'), ...notifyFields }),
  z.strictObject({ ...stepCommon, kind: z.literal('hold'), image: text, region: text, parameterName: text, value: optionalText, previous: optionalText }),
]);

const decisionSchema = z.discriminatedUnion('action', [
  z.strictObject({ image: text, action: z.literal('build'), reason: text, currentVersion: optionalText, nextVersion: text }),
  z.strictObject({ image: text, action: z.literal('resume'), reason: text, currentVersion: optionalText, nextVersion: text, fromRunId: text }),
  z.strictObject({ image: text, action: z.literal('unchanged'), reason: text, currentVersion: optionalText }),
  z.strictObject({ image: text, action: z.literal('change'), reason: text, currentVersion: optionalText }),
  z.strictObject({ image: text, action: z.literal('finish'), reason: text, currentVersion: optionalText, version: text }),
  z.strictObject({ image: text, action: z.literal('locked'), reason: text, currentVersion: optionalText, lease: leaseSchema }),
  z.strictObject({ image: text, action: z.literal('error'), kind: z.enum(['definition', 'pipeline']), reason: text }),
]);

export const runPlanSchema = z.strictObject({
  schema: z.literal(planSchemaVersion),
  runId: runIdSchema,
  createdAt: z.iso.datetime(),
  ssmPrefix: text,
  options: z.strictObject({ force: z.boolean(), images: texts }),
  observed: z.strictObject({ at: text, digests: z.record(z.string(), text) }),
  images: z.array(decisionSchema),
  steps: z.array(planStepSchema),
  kept: z.array(z.strictObject({ image: text, region: text, amiId: text, version: optionalText, reason: text })),
});

export type SavedRunPlan = z.infer<typeof runPlanSchema>;

/**
 * A plan file's content as a plan, or every problem with it (`steps[3].writes[0].name: …`): the shape first, then what
 * the shape cannot say: step IDs are unique, every step ID a step names (`stepReferences`: its `after`, what it runs
 * beside, the build it ends, the steps a notification reads) is another step of the plan, and no step waits for itself,
 * nor for itself through others, counting
 * the steps it waits for beside it (`stepWaits`).
 */
export function parseRunPlan(value: unknown): { plan: RunPlan; problems: [] } | { plan: undefined; problems: string[] } {
  const parsed = runPlanSchema.safeParse(value);
  if (!parsed.success) return { plan: undefined, problems: parsed.error.issues.map((issue) => `${formatPath(issue.path) || '(the file)'}: ${describeIssue(issue)}`) };
  const problems: string[] = [];
  const ids = new Map<string, number>();
  parsed.data.steps.forEach((step, index) => {
    const first = ids.get(step.id);
    if (first !== undefined) problems.push(`steps[${index}].id: "${step.id}" is also the ID of steps[${first}]; every step has its own ID`);
    else ids.set(step.id, index);
  });
  parsed.data.steps.forEach((step, index) => {
    for (const reference of stepReferences(step)) {
      const where = `steps[${index}].${reference.field}`;
      if (!ids.has(reference.id)) problems.push(`${where}: ${reference.subject} "${reference.id}", which is no step of the plan${reference.fix}`);
      else if (reference.id === step.id && reference.itself !== undefined) problems.push(`${where}: ${reference.itself}`);
    }
  });
  // NOTE: the waits beside a step count as much as its `after`: a circle through them never ends at apply.
  const waiting = new Map<string, readonly StepWait[]>();
  for (const step of parsed.data.steps) if (!waiting.has(step.id)) waiting.set(step.id, stepWaits(step as unknown as PlanStep));
  for (const circle of waitCircles(waiting)) problems.push(describeCircle(circle));
  // NOTE: the parsed plan is the plan gild wrote, field for field (the type test holds the schema to the types); a
  // field JSON left out because it was undefined reads as undefined either way.
  return problems.length > 0 ? { plan: undefined, problems } : { plan: parsed.data as unknown as RunPlan, problems: [] };
}

type SavedStep = SavedRunPlan['steps'][number];

/**
 * A step ID one of a step's fields names, and the words for it when it names no step of the plan:
 * `<subject> "<id>", which is no step of the plan<fix>`.
 */
interface StepReference {
  /** The field, with its position in a list: `after[0]`, `besideSmoke`, `build`. */
  readonly field: string;
  readonly id: string;
  /** Who does what with it: `step publish:web waits for`, `copy copy:web:eu-west-1 runs beside`. */
  readonly subject: string;
  /** How to mend it, after a `;`, or nothing. */
  readonly fix: string;
  /** The words when it names its own step, where that is refused here (a step waiting for itself in its `after`). */
  readonly itself?: string;
}

/** Every step ID a step names, in the order its problems are told: its `after`, then what it runs beside or ends. */
function stepReferences(step: SavedStep): StepReference[] {
  const references: StepReference[] = step.after.map((id, position) => ({
    field: `after[${position}]`,
    id,
    subject: `step ${step.id} waits for`,
    fix: '',
    itself: `step ${step.id} waits for itself`,
  }));
  // NOTE: the runner answers a step asking for its own result with nothing (`run.settled`), so a step naming itself
  // beside it would run as if it named no step at all: refused like a step waiting for itself.
  const besideItself = `step ${step.id} runs beside itself`;
  if (step.kind === 'copy') {
    if (step.besideSmoke !== undefined)
      references.push({ field: 'besideSmoke', id: step.besideSmoke, subject: `copy ${step.id} runs beside`, fix: "; name the image's smoke step or leave it out", itself: besideItself });
    if (step.besideBuild !== undefined)
      references.push({ field: 'besideBuild', id: step.besideBuild, subject: `copy ${step.id} runs beside`, fix: "; name the image's packer-exit step or leave it out", itself: besideItself });
  }
  if (step.kind === 'packer-exit') {
    references.push(
      { field: 'build', id: step.build, subject: `${step.id} waits for the Packer of`, fix: "; name the image's build step", itself: `${step.id} names itself as the build whose Packer it waits for` },
      ...step.besideSmoke.map((id, position) => ({ field: `besideSmoke[${position}]`, id, subject: `${step.id} runs beside`, fix: "; name the image's smoke steps", itself: besideItself })),
    );
  }
  // A notification reads the result of the step that gave its AMIs, and a failure's the publish's (src/stages/notify.ts).
  if (step.kind === 'notify' || step.kind === 'notify-failure') {
    if ('from' in step.amis)
      references.push({
        field: 'amis.from',
        id: step.amis.from,
        subject: `${step.id} reads its AMIs from`,
        fix: '; name the step that gives them, or list the AMIs',
        itself: `${step.id} reads its AMIs from itself`,
      });
    if (step.publishStep !== undefined)
      references.push({
        field: 'publishStep',
        id: step.publishStep,
        subject: `${step.id} reads the publish of`,
        fix: "; name the image's publish step or leave it out",
        itself: `${step.id} names itself as its publish step`,
      });
  }
  return references;
}

/** `steps: a → b → a wait for each other in a circle (a after b, b besideSmoke a) …`: the steps, and the field of each wait. */
function describeCircle(edges: readonly WaitEdge[]): string {
  // NOTE: a hand-made circle may run through thousands of steps: the first ones name it well enough.
  const shown = edges.slice(0, circleStepsShown);
  const more = edges.length - shown.length;
  const steps = [...shown.map((edge) => edge.from), more > 0 ? `… (${more} more)` : edges[0]!.from].join(' → ');
  const waits = shown.map((edge) => `${edge.from} ${edge.wait.field} ${edge.wait.id}`).join(', ');
  return `steps: ${steps} wait for each other in a circle (${waits}${more > 0 ? ', …' : ''}), so none of them could ever end; a plan gild makes has none: make a new plan rather than editing one`;
}

const circleStepsShown = 20;

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return `${issue.message}: it is none of the kinds gild plans`;
  }
  if (issue.code === 'unrecognized_keys') return `${issue.keys.map((key) => `"${key}"`).join(', ')}: no such field in a gild plan`;
  return issue.message;
}
