/**
 * The child pipeline `gild plan --matrix --engine gitlab` prints for
 * `pipeline/gitlab-ci.yml` to trigger: one job per matrix of at most 200
 * (GitLab's `parallel:matrix` limit), each extending the hidden job
 * `.gild-images` of `pipeline/gitlab-ci-images.yml`, then one report job that
 * merges every image job's report (`.gild-report`). Pure.
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
    stages: ['images', 'report'],
    '.gild-jobs': Object.fromEntries(fanOut.jobs.map((job) => [String(job.job), job.images.join(' ')])),
  };
  const imageJobs = fanOut.matrices.map((jobs, index) => {
    // NOTE: one matrix entry a job (not one entry listing every job): GitLab's schema then holds the entries to its
    // limit of 200, which it states for the entries, not for the jobs they multiply out to.
    pipeline[`gild-images-${index + 1}`] = { extends: '.gild-images', parallel: { matrix: jobs.map((job) => ({ GILD_JOB: String(job.job) })) } };
    return `gild-images-${index + 1}`;
  });
  // NOTE: the report job names every image job it merges (a job named in `needs` brings all its matrix instances'
  // artifacts), and the plan job of the parent pipeline, whose plan.json it merges against.
  pipeline['gild-report'] = { extends: '.gild-report', needs: [{ pipeline: '$PARENT_PIPELINE_ID', job: 'plan' }, ...imageJobs.map((job) => ({ job, artifacts: true }))] };
  return `${JSON.stringify(pipeline)}\n`;
}
