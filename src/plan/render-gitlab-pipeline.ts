/**
 * The child pipeline `gild plan --matrix --engine gitlab` prints for
 * `pipeline/gitlab-ci.yml` to trigger: one job per matrix of at most 200
 * (GitLab's `parallel:matrix` limit), each extending the hidden job
 * `.gild-images` of `pipeline/gitlab-ci-images.yml`. Pure.
 *
 * Written as JSON, which is YAML: no YAML writer, and no image name can
 * change the document's shape. A matrix value is the job's number, not its
 * images: GitLab names each job after its values, and a job name has at most
 * 255 characters; the images of each job are under `.gild-jobs`, a hidden key
 * the job reads from this same file (an artifact of the plan job).
 */
import type { FanOut } from './plan-waves.ts';

/** Where the job template lives, relative to the repository's root (GitLab's `include: local`). */
export const gitlabJobTemplate = 'pipeline/gitlab-ci-images.yml';

export function renderGitLabChildPipeline(fanOut: FanOut): string {
  const pipeline: Record<string, unknown> = {
    include: [{ local: gitlabJobTemplate }],
    '.gild-jobs': Object.fromEntries(fanOut.jobs.map((job) => [String(job.job), job.images.join(' ')])),
  };
  fanOut.matrices.forEach((jobs, index) => {
    pipeline[`gild-images-${index + 1}`] = { extends: '.gild-images', parallel: { matrix: [{ GILD_JOB: jobs.map((job) => String(job.job)) }] } };
  });
  // NOTE: GitLab refuses a pipeline with no visible job; a plan that builds nothing still gets a pipeline that says so.
  if (fanOut.jobs.length === 0) pipeline['gild-nothing-to-build'] = { extends: '.gild-nothing-to-build' };
  return `${JSON.stringify(pipeline, null, 1)}\n`;
}
