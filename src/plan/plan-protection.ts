/**
 * Deregistration protection (`protection: true` in pipeline/settings.ts), pure: every AMI a pointer names gets
 * EnableImageDeregistrationProtection, so that nothing but gild's own retirement deregisters it by mistake (a console
 * click, another tool's cleanup); retirement removes it as part of its planned deregister step, said in its reason.
 *
 * `gild:protected` on the AMI says what the protect step did: `true` (protected), or why not (`unsupported`: the target
 * has no such call, said in the log). Either way it is not planned again; only `true` is removed before deregistering.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { ImageState } from './image-state.ts';
import type { AmiSource, PlanStep, StepOfKind } from './run-plan.ts';

export const protectedTag = 'gild:protected';

export function planProtection(input: {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  /** This run's publish step, if any: its AMIs are protected once it wrote the pointers. */
  readonly publish: StepOfKind<'publish'> | undefined;
  readonly lockStepId: string;
  /** AMIs this plan retires (any phase): not worth protecting on the way out. */
  readonly retiring: ReadonlySet<string>;
}): PlanStep[] {
  const { image, state, publish } = input;
  const steps: PlanStep[] = [];
  const planned = new Set<string>();
  const step = (region: string, version: string, amis: AmiSource, after: readonly string[], why: string): StepOfKind<'protect'> => ({
    id: `protect:${image.name}:${version}:${region}`,
    kind: 'protect',
    image: image.name,
    version,
    region,
    amis,
    after,
    reason: `protection is on in settings and ${why}: enable deregistration protection, so that only gild's retirement (which removes it first, as a planned step) deregisters it`,
    precondition: `the AMI is still this image's ${version}`,
  });
  if (publish) {
    for (const region of image.regions) {
      // NOTE: the publish step's own output, which holds every region's AMI (gild's region copies included).
      steps.push(step(region, publish.version, { from: publish.id }, [publish.id], `the publish names it on latest`));
      planned.add(`${region} ${publish.version}`);
    }
  }
  for (const region of image.regions) {
    for (const amiId of new Set(Object.values(state.pointers[region] ?? {}))) {
      const ami = state.amis[region]?.find((candidate) => candidate.amiId === amiId);
      const version = ami?.tags['gild:version'];
      if (!ami || !version || ami.tags[protectedTag] !== undefined || ami.state === 'deregistered' || input.retiring.has(amiId) || planned.has(`${region} ${version}`)) continue;
      planned.add(`${region} ${version}`);
      steps.push(step(region, version, { amis: { [region]: amiId } }, [input.lockStepId], `a pointer names ${amiId} (${version})`));
    }
  }
  return steps;
}

/** A deregister step of an AMI gild protected removes the protection first: said in its reason, flagged for the stage. */
export function withProtectionRemoved<T extends Omit<StepOfKind<'retire'>, 'after'>>(step: T, state: ImageState): T {
  if (step.phase !== 'deregister') return step;
  const ami = state.amis[step.region]?.find((candidate) => candidate.amiId === step.amiId);
  if (ami?.tags[protectedTag] !== 'true') return step;
  return { ...step, unprotect: true, reason: `remove its deregistration protection (gild enabled it while a pointer named it), then deregister: ${step.reason}` };
}
