/**
 * Plans of generated fleets, shaped as assemble-plan shapes them (an image's
 * `build` waits for its lock and for each base's `publish`), for tests of the
 * CI fan-out. Only the fields the fan-out reads are meaningful.
 */
import type { ImageDecision, PlanStep, RunPlan } from '../../src/plan/run-plan.ts';

/** Image name → the images it is built on (empty for an image on a public AMI). */
export type FleetShape = ReadonlyMap<string, readonly string[]>;

export function fleetPlan(shape: FleetShape, unchanged: readonly string[] = []): RunPlan {
  const images: ImageDecision[] = [
    ...[...shape.keys()].map((image): ImageDecision => ({ image, action: 'build', reason: 'generated', currentVersion: undefined, nextVersion: '1.0.0' })),
    ...unchanged.map((image): ImageDecision => ({ image, action: 'unchanged', reason: 'generated', currentVersion: '1.0.0' })),
  ];
  const steps = [...shape].flatMap(([image, bases]) => [
    { id: `lock:${image}`, after: ['sweep:us-east-1:i-0123'], kind: 'lock', image },
    { id: `build:${image}`, after: [`lock:${image}`, ...bases.map((base) => `publish:${base}`)], kind: 'build', image },
    { id: `publish:${image}`, after: [`build:${image}`], kind: 'publish', image },
  ]) as unknown as PlanStep[];
  return { schema: 1, runId: 'r', createdAt: '', ssmPrefix: '/golden', options: { force: false, images: [] }, observed: { at: '', digests: {} }, images, steps, kept: [] };
}

/** `count` images on public AMIs. */
export function flatFleet(count: number): FleetShape {
  return new Map(Array.from({ length: count }, (_, index) => [`image-${String(index).padStart(5, '0')}`, []]));
}

/** One chain: `chain-1` on a public AMI, each next image on the one before. */
export function chainFleet(depth: number): FleetShape {
  return new Map(Array.from({ length: depth }, (_, index) => [`chain-${index + 1}`, index === 0 ? [] : [`chain-${index}`]]));
}
