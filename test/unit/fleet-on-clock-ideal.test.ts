/**
 * The fleet benchmark's ideal schedule (test/bench/fleet-on-clock.ts): the sum of the model's waits along the
 * dependency graph, each counted once where gild's steps overlap them, on the clock the benchmark keeps.
 */
import { describe, expect, it } from 'vitest';
import { idealScheduleMs } from '../bench/fleet-on-clock.ts';
import { createAwsClock, fleetClockPhaseAwsSeconds, fleetClockScale } from '../support/aws-clock-model.ts';

describe('the ideal night of the fleet on the clock', () => {
  it('is three builds, two smoke tests and the last level’s copies, the smoke test’s two commands counted once (they run side by side)', () => {
    // In AWS seconds at scale 1: a build 30 + 45 + 240, a smoke test 30 + max(120, 60) + 5, a copy 900.
    const aws = idealScheduleMs(createAwsClock({ scale: 1 }));
    expect(aws).toEqual({ buildMs: 315_000, smokeMs: 155_000, copyMs: 900_000, totalMs: 3 * 315_000 + 2 * 155_000 + 900_000 });
  });

  it('counts the phase once in every wait, as the clock imposes it', () => {
    const phased = idealScheduleMs(createAwsClock({ scale: fleetClockScale, phaseAwsSeconds: fleetClockPhaseAwsSeconds }));
    // A build has three waits, a smoke test three (the later of status checks and registration is one), a copy one.
    expect(phased.buildMs).toBeCloseTo(((315 + 3 * 7.5) * 1000) / 15, 6);
    expect(phased.smokeMs).toBeCloseTo(((155 + 3 * 7.5) * 1000) / 15, 6);
    expect(phased.copyMs).toBeCloseTo(((900 + 7.5) * 1000) / 15, 6);
    expect(phased.totalMs).toBeCloseTo(3 * phased.buildMs + 2 * phased.smokeMs + phased.copyMs, 6);
  });
});
