/**
 * A saved plan is a request, not an authority: it is applied only where every one of its steps is a step a fresh plan
 * (made now, from what is observed now, as of the saved plan's time) has, with the same arguments, and it leaves out
 * none of the fresh plan's steps. Pure: both plans come in as data. Each difference names the step and the field.
 */
import type { ImageDecision, KeptResource, PlanStep, RunPlan } from './run-plan.ts';

export interface PlanScope {
  /** One CI job applying its images' slice of a shared plan: only those images' steps are compared (and applied). */
  readonly only?: readonly string[] | undefined;
}

export function compareSavedPlan(saved: RunPlan, fresh: RunPlan, scope: PlanScope = {}): string[] {
  const inScope = (image: string | undefined) => (scope.only ? image !== undefined && scope.only.includes(image) : true);
  const stepsOf = (plan: RunPlan) => plan.steps.filter((step) => inScope('image' in step ? step.image : undefined));
  const problems: string[] = [];
  const freshSteps = new Map(stepsOf(fresh).map((step) => [step.id, asJson(step)]));
  const savedIds = new Set<string>();
  for (const step of stepsOf(saved)) {
    savedIds.add(step.id);
    const expected = freshSteps.get(step.id);
    if (expected === undefined) {
      problems.push(`step ${step.id} (${step.kind}): a plan made now has no such step, so gild would not take it`);
      continue;
    }
    const difference = firstDifference(asJson(step), expected, '');
    if (difference) problems.push(`step ${step.id}: ${difference}`);
  }
  for (const [id, step] of freshSteps) if (!savedIds.has(id)) problems.push(`step ${id} (${(step as { kind: string }).kind}): a plan made now has it, the saved plan leaves it out`);
  const decisions = (plan: RunPlan) => new Map(plan.images.filter((decision) => inScope(decision.image)).map((decision) => [decision.image, asJson(decision)]));
  const savedDecisions = decisions(saved);
  for (const [image, expected] of decisions(fresh)) {
    const decision = savedDecisions.get(image);
    if (decision === undefined) problems.push(`images: the saved plan has no decision for ${image}`);
    else {
      const difference = firstDifference(decision, expected, '');
      if (difference) problems.push(`images (${image}): ${difference}`);
    }
    savedDecisions.delete(image);
  }
  for (const image of savedDecisions.keys()) problems.push(`images (${image}): a plan made now does not cover ${image}`);
  const kept = (plan: RunPlan) =>
    plan.kept
      .filter((entry: KeptResource) => inScope(entry.image))
      .map((entry) => JSON.stringify(asJson(entry)))
      .sort();
  const difference = firstDifference(kept(saved), kept(fresh), 'kept');
  if (difference) problems.push(`what the plan keeps: ${difference}`);
  return problems;
}

/** What JSON makes of a value: a field that is undefined is no field at all, as in a plan file. */
function asJson(value: PlanStep | ImageDecision | KeptResource): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** `writes[2].name: the saved plan says "/x", a plan made now says "/y"`, or undefined when equal. */
function firstDifference(saved: unknown, fresh: unknown, path: string): string | undefined {
  const where = path || '(the whole entry)';
  if (Array.isArray(saved) && Array.isArray(fresh)) {
    for (let index = 0; index < Math.max(saved.length, fresh.length); index++) {
      const difference = firstDifference(saved[index], fresh[index], `${path}[${index}]`);
      if (difference) return difference;
    }
    return undefined;
  }
  if (isObject(saved) && isObject(fresh)) {
    for (const key of [...new Set([...Object.keys(fresh), ...Object.keys(saved)])]) {
      const difference = firstDifference(saved[key], fresh[key], path ? `${path}.${key}` : key);
      if (difference) return difference;
    }
    return undefined;
  }
  if (saved === fresh) return undefined;
  return `${where}: the saved plan says ${show(saved)}, a plan made now says ${show(fresh)}`;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 200));
