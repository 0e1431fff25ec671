/**
 * `gild doctor`: asks the account, with the credentials the nightly will use,
 * whether it gives a run everything it needs, and says how to fix what it
 * does not. Read only. Exit 1 when something a run needs is missing; a check
 * the account or the emulator cannot answer is said as not checked.
 */
import { createIamClient } from '../adapters/iam.ts';
import { createKmsClient, type KMSClient } from '../adapters/kms.ts';
import { createRbinClient } from '../adapters/rbin.ts';
import { createContext } from '../context.ts';
import type { DoctorCheck } from '../doctor/doctor-check.ts';
import { formatDoctorReport } from '../doctor/format-doctor-report.ts';
import { runDoctor } from '../doctor/run-doctor.ts';
import { catalogue } from '../errors.ts';
import { awsProfile } from '../target/aws-profile.ts';
import { emulatorProfile } from '../target/emulator-profile.ts';
import { chooseTarget } from '../target/choose-target.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject } from './load-project.ts';

export interface DoctorOptions {
  /** The checks as JSON on stdout. */
  readonly json: boolean;
}

export interface DoctorAnswer {
  readonly ready: boolean;
  readonly target: string;
  readonly checks: readonly DoctorCheck[];
}

/**
 * Read only, so nothing to clean up on an interrupt: the default signal handling ends it.
 *
 * NOTE: the context is made here rather than by withImagesInContext: on the emulator that would first prepare it
 * (stand-in sources, the instance profiles the images name), writing to the account doctor must only read, and hiding
 * a missing profile behind one gild just made.
 */
export async function doctor(options: DoctorOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const target = chooseTarget({ startedEmulator: undefined, env: io.env });
  if (target.kind === 'aws' && !io.env.AWS_REGION && !io.env.AWS_DEFAULT_REGION) {
    throw catalogue.EUSAGE('doctor: no AWS region is configured. Set AWS_REGION (or AWS_DEFAULT_REGION) as the nightly does, or GILD_TARGET=emulator with AWS_ENDPOINT_URL to ask a local emulator.');
  }
  logger.info(target.kind === 'emulator' ? `target: the emulator at ${target.endpoint} (${target.why}); what it cannot answer is said as not checked` : 'target: AWS');
  const context = createContext({
    cwd: io.cwd,
    env: target.kind === 'emulator' ? { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...io.env } : io.env,
    logger,
    settings: project.settings,
    target: target.kind === 'emulator' ? emulatorProfile({ endpoint: target.endpoint, why: target.why }) : awsProfile,
  });
  const images = project.images;
  const regions = [...new Set(images.flatMap((image) => image.regions))].sort();
  const homeRegion = context.clients.defaultRegion ?? images[0]?.buildRegion ?? 'us-east-1';
  const iam = createIamClient(context.env);
  const kmsClients = new Map<string, KMSClient>();
  const kms = (region: string) => {
    let client = kmsClients.get(region);
    if (!client) kmsClients.set(region, (client = createKmsClient(region, context.env)));
    return client;
  };
  // NOTE: the context's clients make (and destroy) the Recycle Bin's too; only test fakes of AwsClients leave it out.
  const rbin = (region: string) => context.clients.rbin?.(region) ?? createRbinClient(region, context.env);
  try {
    const checks = await runDoctor({
      settings: context.settings,
      images,
      regions,
      homeRegion,
      runId: context.runId,
      env: context.env,
      capabilities: context.target.accountChecks,
      ec2: (region) => context.clients.ec2(region),
      ssm: (region) => context.clients.ssm(region),
      kms,
      rbin,
      iam,
    });
    const answer: DoctorAnswer = { ready: checks.every((check) => check.status !== 'failed'), target: target.kind === 'emulator' ? `the emulator at ${target.endpoint}` : 'AWS', checks };
    io.stdout(options.json ? `${JSON.stringify(answer, null, 2)}\n` : formatDoctorReport(checks, answer.target));
    return answer.ready ? 0 : 1;
  } finally {
    iam.destroy();
    for (const client of kmsClients.values()) client.destroy();
    context.clients.destroy();
  }
}
