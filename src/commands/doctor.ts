/**
 * `gild doctor`: asks the account, with the credentials the nightly will use,
 * whether it gives a run everything it needs, and says how to fix what it
 * does not. Read only. Exit 1 when something a run needs is missing; a check
 * the account or the emulator cannot answer is said as not checked.
 */
import { createIamClient } from '../adapters/iam.ts';
import { createKmsClient } from '../adapters/kms.ts';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { DoctorCheck } from '../doctor/doctor-check.ts';
import { formatDoctorReport } from '../doctor/format-doctor-report.ts';
import { runDoctor } from '../doctor/run-doctor.ts';
import { accountCheckCapabilities } from '../target/account-checks.ts';
import { createIoLogger, type Io } from './io.ts';
import { withImagesInContext } from './run-steps.ts';

export interface DoctorOptions {
  /** The checks as JSON on stdout. */
  readonly json: boolean;
}

export interface DoctorAnswer {
  readonly ready: boolean;
  readonly target: string;
  readonly checks: readonly DoctorCheck[];
}

export async function doctor(options: DoctorOptions, io: Io): Promise<number> {
  return withImagesInContext(io, createIoLogger(io), { images: [], dryRun: true }, async (context, images) => {
    const regions = [...new Set(images.flatMap((image) => image.regions))].sort();
    const homeRegion = context.clients.defaultRegion ?? images[0]?.buildRegion ?? 'us-east-1';
    const iam = createIamClient(context.env);
    const kmsClients = new Map<string, KMSClient>();
    const kms = (region: string) => {
      let client = kmsClients.get(region);
      if (!client) kmsClients.set(region, (client = createKmsClient(region, context.env)));
      return client;
    };
    try {
      const checks = await runDoctor({
        settings: context.settings,
        images,
        regions,
        homeRegion,
        runId: context.runId,
        env: context.env,
        capabilities: accountCheckCapabilities(context),
        ec2: (region) => context.clients.ec2(region),
        ssm: (region) => context.clients.ssm(region),
        kms,
        iam,
      });
      const target = context.options.emulator ? `the emulator at ${context.options.emulator.endpoint}` : 'AWS';
      const ready = checks.every((check) => check.status !== 'failed');
      const answer: DoctorAnswer = { ready, target, checks };
      io.stdout(options.json ? `${JSON.stringify(answer, null, 2)}\n` : formatDoctorReport(checks, target));
      return ready ? 0 : 1;
    } finally {
      iam.destroy();
      for (const client of kmsClients.values()) client.destroy();
    }
  });
}
