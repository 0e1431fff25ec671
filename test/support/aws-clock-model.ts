/**
 * AWS's clock, as a model: how long the slow things gild and Packer wait for take on AWS, in one table with where
 * each figure comes from, and the pure functions that say what state a resource is in at a given instant. The clock
 * proxy (aws-clock-proxy.ts) puts this model in front of moto, which otherwise answers every one of them at once.
 *
 * Times are AWS seconds; `scale` says how many AWS seconds pass in one second of the model (60: one AWS minute is one
 * second), so that a night of builds and copies fits a benchmark. The figures are typical, not worst cases: the point
 * is the *shape* of a night (a copy is several times a build, a smoke instance takes minutes to be usable), which is
 * what decides the order of the work. docs/aws-clock.md shows the table and its sources to readers.
 */

export interface Latency {
  /** What takes the time, in the words of the API. */
  readonly what: string;
  /** Fixed part, AWS seconds. */
  readonly seconds: number;
  /** Part that grows with the image's size (its volumes), AWS seconds per GiB. */
  readonly secondsPerGiB?: number;
  /** Where the figure comes from: AWS's documentation for the behaviour, common measurements for the number. */
  readonly source: string;
}

/** The model. Keep docs/aws-clock.md in step (a unit test compares them). */
export const awsLatencies = {
  instancePending: {
    what: 'RunInstances: the instance is `pending`, then `running`',
    seconds: 30,
    source:
      'AWS EC2 User Guide, "Amazon EC2 instance state changes": an instance is pending while it is readied for running, then running (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html); commonly measured 10–40 s for Nitro instances from an EBS-backed AMI',
  },
  statusChecksInitializing: {
    what: 'DescribeInstanceStatus: status checks `initializing` after the instance is running, then `ok`',
    seconds: 120,
    source:
      'AWS EC2 User Guide, "Status checks for Amazon EC2 instances": checks run every minute, and are `initializing` until the first complete (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-system-instance-status-check.html); commonly measured 2–3 min after `running`',
  },
  agentRegistration: {
    what: 'SSM agent registers after the instance is running (SendCommand answers InvalidInstanceId until then)',
    seconds: 60,
    source:
      'AWS Systems Manager User Guide, "Troubleshooting managed node availability": a node is managed once its agent has registered, after boot (https://docs.aws.amazon.com/systems-manager/latest/userguide/fleet-manager-troubleshooting-managed-nodes.html); commonly measured 30–90 s after `running` on Amazon Linux 2023',
  },
  commandRun: {
    what: 'SendCommand (AWS-RunShellScript, a short check): `InProgress` until done',
    seconds: 5,
    source:
      'AWS Systems Manager User Guide, "Understanding command statuses" (Pending → InProgress → Success) (https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html); a short script measures 2–5 s end to end',
  },
  instanceStopping: {
    what: 'StopInstances: `stopping`, then `stopped` (Packer stops the build instance before CreateImage)',
    seconds: 45,
    source: 'AWS EC2 User Guide, "Stop and start Amazon EC2 instances" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Stop_Start.html); commonly measured 30–60 s',
  },
  instanceShuttingDown: {
    what: 'TerminateInstances: `shutting-down`, then `terminated`',
    seconds: 30,
    source: 'AWS EC2 User Guide, "Terminate Amazon EC2 instances" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/terminating-instances.html); commonly measured 20–60 s',
  },
  createImage: {
    what: 'CreateImage: the AMI is `pending` until its snapshots complete, then `available`',
    seconds: 120,
    secondsPerGiB: 15,
    source:
      'AWS EC2 User Guide, "Create an Amazon EBS-backed AMI": the AMI is pending while its snapshots are taken, which takes longer the more data the volumes hold (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/creating-an-ami-ebs.html); commonly measured 3–6 min for an 8 GiB root volume',
  },
  copyImage: {
    what: 'CopyImage to another region: the copy is `pending` until its snapshots are copied, then `available`',
    seconds: 300,
    secondsPerGiB: 75,
    source:
      'AWS EC2 User Guide, "Copy an Amazon EC2 AMI": the copy takes time that depends on the size of the snapshots and the distance between regions, and is best effort unless a completion duration is asked for, whose minimum is 15 min (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/time-based-copies.html); commonly measured 10–30 min for 8 GiB between US and EU regions',
  },
} as const satisfies Record<string, Latency>;

export type LatencyName = keyof typeof awsLatencies;

/** The size an AMI is modelled at when its answer names no volume size. */
export const defaultImageGiB = 8;

/**
 * The fleet benchmark's scale, in AWS seconds per second. At 60 (one AWS minute a second) the model's build is 5.25 s, and what is not modelled (a
 * Packer process starting, the emulator's answers on a loaded machine: seconds of real time whatever the scale)
 * weighed as much as the model, on both sides. At 20 Packer's polls could not follow: its delay is whole seconds, at
 * least 1, which is 20 AWS seconds there, not AWS's 15, and each of its waits for an instance overshot the model by
 * half a second to three quarters (10–15 AWS s a wait that polling every 15 AWS s would not have had). 15 (one AWS
 * minute is 4 s) is the coarsest scale at which Packer polls every 15 AWS seconds as it does on AWS, so both sides poll
 * as on AWS, and the run still fits a quarter of an hour. The model's times are multiples of 15 AWS s, so there a poll
 * lands where the model says a wait ends, where on AWS each wait overshoots by up to a poll (half of one on average):
 * the benchmark offsets every wait by half a poll (`fleetClockPhaseAwsSeconds`) so that its polls cost what they cost
 * on AWS on average, on both sides.
 */
export const fleetClockScale = 15;

/** Half of the 15 s both Packer and gild poll AWS at: see `AwsClockOptions.phaseAwsSeconds`. */
export const fleetClockPhaseAwsSeconds = 7.5;

export interface AwsClock {
  /** AWS seconds per model second. */
  readonly scale: number;
  /** How long `name` takes in the model, in milliseconds of real time, for an image of `sizeGiB` where size counts. */
  ms(name: LatencyName, sizeGiB?: number): number;
}

export interface AwsClockOptions {
  readonly scale?: number;
  /**
   * AWS seconds added to every modelled wait (0 unless given). The table's figures are round, multiples of the 15 s
   * that Packer and gild poll AWS at, so a client polling every 15 s from the request sees each wait end at one of its
   * polls, at no cost; on AWS a wait ends anywhere between two polls, half a poll before the next on average. With
   * half a poll here (7.5 s) every poll lands that average time after the wait it ends, as on AWS on average: what the
   * fleet benchmark uses, for its ideal too (a wait the clock imposes is a wait the ideal counts).
   */
  readonly phaseAwsSeconds?: number;
}

export function createAwsClock(options: AwsClockOptions = {}): AwsClock {
  const scale = options.scale ?? 60;
  if (!(scale > 0)) throw new Error(`aws clock: scale must be a positive number of AWS seconds per second, not ${String(options.scale)}`);
  const phase = options.phaseAwsSeconds ?? 0;
  if (!(phase >= 0)) throw new Error(`aws clock: phaseAwsSeconds must be a number of AWS seconds, 0 or more, not ${String(options.phaseAwsSeconds)}`);
  return {
    scale,
    ms(name, sizeGiB = defaultImageGiB) {
      const latency: Latency = awsLatencies[name];
      return ((latency.seconds + (latency.secondsPerGiB ?? 0) * sizeGiB + phase) * 1000) / scale;
    },
  };
}

export type ImageState = 'pending' | 'available';
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export type StatusCheck = 'not-applicable' | 'initializing' | 'ok';

/** An AMI the model knows: made (CreateImage) or copied (CopyImage) at `startedAt` (epoch ms). */
export interface ModelledImage {
  readonly kind: 'createImage' | 'copyImage';
  readonly startedAt: number;
  readonly sizeGiB?: number | undefined;
}

export function imageStateAt(clock: AwsClock, image: ModelledImage, now: number): ImageState {
  return now < imageAvailableAt(clock, image) ? 'pending' : 'available';
}

export function imageAvailableAt(clock: AwsClock, image: ModelledImage): number {
  return image.startedAt + clock.ms(image.kind, image.sizeGiB);
}

/** An instance the model knows: launched at `launchedAt`, perhaps stopped or terminated since (epoch ms). */
export interface ModelledInstance {
  readonly launchedAt: number;
  stopRequestedAt?: number | undefined;
  terminateRequestedAt?: number | undefined;
}

export function runningAt(clock: AwsClock, instance: ModelledInstance): number {
  return instance.launchedAt + clock.ms('instancePending');
}

/**
 * The state the model shows, given what the emulator says (`reported`: moto moves to `running`, `stopped`,
 * `terminated` at once). The model only ever delays a transition; it never invents one moto did not make.
 */
export function instanceStateAt(clock: AwsClock, instance: ModelledInstance, reported: InstanceState, now: number): InstanceState {
  if (reported === 'terminated' && instance.terminateRequestedAt !== undefined) return now < instance.terminateRequestedAt + clock.ms('instanceShuttingDown') ? 'shutting-down' : 'terminated';
  if (reported === 'stopped' && instance.stopRequestedAt !== undefined) return now < instance.stopRequestedAt + clock.ms('instanceStopping') ? 'stopping' : 'stopped';
  if (reported === 'running' && now < runningAt(clock, instance)) return 'pending';
  return reported;
}

export function statusCheckAt(clock: AwsClock, instance: ModelledInstance, now: number): StatusCheck {
  const running = runningAt(clock, instance);
  if (now < running) return 'not-applicable';
  return now < running + clock.ms('statusChecksInitializing') ? 'initializing' : 'ok';
}

export function agentRegisteredAt(clock: AwsClock, instance: ModelledInstance): number {
  return runningAt(clock, instance) + clock.ms('agentRegistration');
}

export function commandDoneAt(clock: AwsClock, sentAt: number): number {
  return sentAt + clock.ms('commandRun');
}

/**
 * Packer's polling, scaled: its waiters read AWS_POLL_DELAY_SECONDS (whole seconds, at least 1) and AWS_MAX_ATTEMPTS.
 * The delay is AWS's usual 15 s scaled, never under Packer's 1 s floor; the attempts cover the longest modelled wait
 * (a copy of `largestGiB`) twice over, so a modelled wait never runs Packer out of attempts.
 */
export function packerPollingEnv(clock: AwsClock, largestGiB = defaultImageGiB): { AWS_POLL_DELAY_SECONDS: string; AWS_MAX_ATTEMPTS: string } {
  const delaySeconds = Math.max(1, Math.round(15 / clock.scale));
  const longestMs = Math.max(clock.ms('copyImage', largestGiB), clock.ms('createImage', largestGiB));
  return { AWS_POLL_DELAY_SECONDS: String(delaySeconds), AWS_MAX_ATTEMPTS: String(Math.max(40, Math.ceil((2 * longestMs) / (delaySeconds * 1000)))) };
}

/**
 * gild's own polling, scaled as Packer's is: the intervals gild uses on AWS (a copy's state every 15 s, a smoke
 * command and instance every 3 s), in milliseconds of the model, never under 1 ms. Polling more often than AWS's
 * clock would show nothing new; less often than these and a wait overshoots its modelled time by more than on AWS.
 * GILD_SMOKE_POLL_MS also paces the smoke instance's running/status wait (5 s by default on AWS): 3 s scaled there too.
 */
export function gildPollingEnv(clock: AwsClock): { GILD_COPY_POLL_MS: string; GILD_SMOKE_POLL_MS: string } {
  const scaled = (awsMs: number) => String(Math.max(1, Math.round(awsMs / clock.scale)));
  return { GILD_COPY_POLL_MS: scaled(15_000), GILD_SMOKE_POLL_MS: scaled(3_000) };
}

/** The table as docs/aws-clock.md shows it (a unit test holds the page to it). */
export function formatLatencyTable(scale = 60): string {
  const clock = createAwsClock({ scale });
  const rows = Object.entries(awsLatencies).map(([name, latency]: [string, Latency]) => {
    const aws = `${latency.seconds} s${latency.secondsPerGiB ? ` + ${latency.secondsPerGiB} s/GiB (${latency.seconds + latency.secondsPerGiB * defaultImageGiB} s at ${defaultImageGiB} GiB)` : ''}`;
    const scaled = `${(clock.ms(name as LatencyName) / 1000).toFixed(2)} s`;
    return `| \`${name}\` | ${latency.what} | ${aws} | ${scaled} | ${latency.source} |`;
  });
  return [`| model | what | on AWS | at scale ${scale} | source |`, '|---|---|---|---|---|', ...rows].join('\n');
}
