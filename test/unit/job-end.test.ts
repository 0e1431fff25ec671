/**
 * A fleet job's end marker (src/apply/job-end.ts): which images a job marks (those the saved plan builds or resumes in
 * its slice, not published), what a waiter trusts (its own plan's run and version only), and that a marker that cannot
 * be read as one is no marker.
 */
import { describe, expect, it } from 'vitest';
import { awaitedImages, endedUnpublished, jobEndParameterName, parseJobEnd } from '../../src/apply/job-end.ts';
import type { ImageOutcome } from '../../src/apply/run-trip.ts';
import type { ImageDecision } from '../../src/plan/run-plan.ts';

const decisions = [
  { image: 'base', action: 'build', reason: 'new', currentVersion: undefined, nextVersion: '1.1.0' },
  { image: 'app', action: 'resume', reason: 'resume', currentVersion: '1.0.0', nextVersion: '1.0.1', fromRunId: 'r0' },
  { image: 'web', action: 'unchanged', reason: 'same', currentVersion: '2.0.0' },
] as ImageDecision[];
const images = [
  { name: 'base', buildRegion: 'us-east-1' },
  { name: 'app', buildRegion: 'eu-west-1' },
  { name: 'web', buildRegion: 'us-east-1' },
];

describe('job end markers', () => {
  it("lives outside every image's own path, so it is no pointer and moves no image's digest", () => {
    expect(jobEndParameterName('/golden', 'base')).toBe('/golden/_jobs/base/ended');
  });

  it("marks only the job's own images that the plan builds or resumes, in each one's build region", () => {
    expect(awaitedImages(decisions, ['base', 'web'], images)).toEqual([{ image: 'base', version: '1.1.0', region: 'us-east-1' }]);
    expect(awaitedImages(decisions, ['base', 'app'], images).map((entry) => `${entry.image} ${entry.version} ${entry.region}`)).toEqual(['base 1.1.0 us-east-1', 'app 1.0.1 eu-west-1']);
    // A run of the whole plan, or a run with no saved plan, is no CI job of a fan-out: nobody waits for it.
    expect(awaitedImages(decisions, undefined, images)).toEqual([]);
  });

  it('records an image the job did not publish, with what became of it, and never a published one', () => {
    const awaited = awaitedImages(decisions, ['base', 'app'], images);
    const outcomes = [
      { image: 'base', result: 'published', version: '1.1.0', amis: {}, summary: [] },
      { image: 'app', result: 'yielded', reason: 'run r9 holds its lock', summary: [] },
    ] as ImageOutcome[];
    expect(endedUnpublished(awaited, outcomes)).toEqual([{ image: 'app', version: '1.0.1', region: 'eu-west-1', result: 'yielded', reason: 'run r9 holds its lock' }]);
  });

  it('reads a marker, and takes anything else as no marker', () => {
    expect(parseJobEnd(JSON.stringify({ runId: 'r1', version: '1.1.0', result: 'refused', reason: 'moved', at: 't' }))).toEqual({
      runId: 'r1',
      version: '1.1.0',
      result: 'refused',
      reason: 'moved',
      at: 't',
    });
    expect(parseJobEnd(JSON.stringify({ runId: 'r1', version: '1.1.0', result: 'failed' }))).toEqual({ runId: 'r1', version: '1.1.0', result: 'failed', reason: 'no reason recorded', at: '?' });
    for (const raw of [undefined, 'not json', 'null', '[]', JSON.stringify({ runId: 1, version: '1.1.0', result: 'failed' })]) expect(parseJobEnd(raw)).toBeUndefined();
  });
});
