/**
 * What a notification says, the same on SNS and EventBridge: the event, the image, the version, its regions and AMIs,
 * why, and where the report is. Pure: the notify stage (src/stages/notify.ts) gathers what is known only when it runs
 * (a publish's AMIs, a failure's reason) and sends what this makes.
 */
import path from 'node:path';
import type { NotifyEvent } from './notify-settings.ts';

export interface Notification {
  /** `gild.image.<event>`: EventBridge's detail-type, SNS's `event` attribute. */
  readonly event: `gild.image.${NotifyEvent}`;
  readonly image: string;
  /** Absent only for a failure before a version was chosen. */
  readonly version?: string;
  readonly regions: readonly string[];
  /** Region → AMI ID, as far as they are known (a failure before anything was built has none). */
  readonly amis: Readonly<Record<string, string>>;
  readonly reason: string;
  /** The report of the run that sent it: the CI run's page, or the report's path on the machine that ran. */
  readonly report: string;
  readonly runId: string;
  /**
   * The same for every attempt to send this notification (`<run>/<step>`): a consumer that sees it twice (a standard
   * topic or EventBridge delivers at least once) drops the second; FIFO topics deduplicate on it themselves.
   */
  readonly notificationId: string;
  readonly at: string;
  /** What else the event says (who, the replacement, the pointers moved, the retirement phase). */
  readonly details: Readonly<Record<string, string>>;
}

export interface NotificationInput {
  readonly event: NotifyEvent;
  readonly image: string;
  readonly version: string | undefined;
  readonly regions: readonly string[];
  readonly amis: Readonly<Record<string, string>>;
  readonly reason: string;
  readonly report: string;
  readonly runId: string;
  readonly stepId: string;
  readonly at: Date;
  readonly details: Readonly<Record<string, string>>;
}

export function notificationOf(input: NotificationInput): Notification {
  return {
    event: `gild.image.${input.event}`,
    image: input.image,
    ...(input.version !== undefined ? { version: input.version } : {}),
    regions: [...input.regions],
    amis: { ...input.amis },
    reason: input.reason,
    report: input.report,
    runId: input.runId,
    notificationId: `${input.runId}/${input.stepId}`,
    at: input.at.toISOString(),
    details: { ...input.details },
  };
}

/** One line for people (an e-mail subscription's subject): `gild: web 1.2.3 published`. */
export function subjectOf(notification: Notification): string {
  return `gild: ${notification.image}${notification.version ? ` ${notification.version}` : ''} ${notification.event.slice('gild.image.'.length)}`;
}

/**
 * Where the report of this run is for whoever is told: the CI run's page when gild runs in GitHub Actions or GitLab
 * CI (the report is among its artifacts), else the report's path on the machine that ran (`.gild/runs/<run>/report.md`).
 */
export function reportLink(env: Readonly<Record<string, string | undefined>>, runDir: string): string {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId, CI_JOB_URL: gitlabJob } = env;
  if (server && repository && runId) return `${server}/${repository}/actions/runs/${runId}`;
  if (gitlabJob) return gitlabJob;
  return path.join(runDir, 'report.md');
}
