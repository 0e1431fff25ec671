/**
 * The catalogue of user-facing failures. Every message says where, what and how
 * to fix. `kind` decides the exit code in the CLI: `usage` and `definition`
 * exit 2, `pipeline` exits 1. Anything that is not a GildError is an internal
 * bug and the CLI prints its stack.
 */
import { columnsOf } from './apply/step-table.ts';

/** `a`, `a and b`, `a, b and c`. */
export const listKeys = (keys: readonly string[]) => (keys.length <= 2 ? keys.join(' and ') : `${keys.slice(0, -1).join(', ')} and ${keys.at(-1)}`);
export type ErrorKind = 'usage' | 'definition' | 'pipeline';
export type ErrorCode =
  | 'EDEFINITIONS'
  | 'ESETTINGS'
  | 'EUNKNOWNIMAGE'
  | 'EUSAGE'
  | 'ENOPACKER'
  | 'ENOMOTO'
  | 'ENOENDPOINT'
  | 'EAWS'
  | 'ENOCREDENTIALS'
  | 'ECREDENTIALSEXPIRED'
  | 'EDENIED'
  | 'EASSUMEROLE'
  | 'ENOTPUBLISHED'
  | 'ENOMATCHINGVERSION'
  | 'EREVOKED'
  | 'EBADPARAMETER'
  | 'EPIPELINE'
  | 'EPLANMOVED'
  | 'EPLANINVALID'
  | 'EPLANREFUSED'
  | 'EREPORTMERGE';

export class GildError extends Error {
  override readonly name = 'GildError';
  constructor(
    readonly code: ErrorCode,
    readonly kind: ErrorKind,
    message: string,
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type Entry = (...args: never[]) => GildError;

/** A failure in a step of the distribution phase (its row in the step table) came after the building account published. */
const inDistribution = (stage: string) => columnsOf(stage)?.phase === 'distribution';

export const catalogue = {
  EDEFINITIONS: (problems: readonly string[]) =>
    new GildError('EDEFINITIONS', 'definition', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the image definitions. Fix them and run \`gild validate\` again.`, problems),
  /**
   * `definitionProblems`: the image definitions' problems, found with `fallbacks` (settings fields at their defaults)
   * in place of what the settings file says, reported with the settings' own so that one run shows them all.
   */
  ESETTINGS: (problems: readonly string[], definitionProblems: readonly string[] = [], fallbacks: readonly string[] = []) =>
    new GildError(
      'ESETTINGS',
      'definition',
      definitionProblems.length === 0
        ? 'The pipeline settings are invalid. Fix pipeline/settings.ts.'
        : `${problems.length} problem${problems.length === 1 ? '' : 's'} in pipeline/settings.ts and ${definitionProblems.length} in the image definitions${
            fallbacks.includes('pipeline/settings.ts')
              ? ' (checked with the default settings, as pipeline/settings.ts could not be read)'
              : fallbacks.length > 0
                ? ` (checked with the default${fallbacks.length === 1 ? '' : 's'} for ${listKeys(fallbacks)})`
                : ''
          }. Fix them and run \`gild validate\` again.`,
      [...problems, ...definitionProblems],
    ),
  EUNKNOWNIMAGE: (names: readonly string[], known: readonly string[]) =>
    new GildError('EUNKNOWNIMAGE', 'usage', `Unknown image${names.length === 1 ? '' : 's'}: ${names.map((n) => `"${n}"`).join(', ')}. Known images: ${known.join(', ') || '(none)'}.`),
  EUSAGE: (message: string) => new GildError('EUSAGE', 'usage', message),
  ENOPACKER: (cause?: unknown) =>
    new GildError(
      'ENOPACKER',
      'usage',
      'Packer is not installed or not on PATH. Install it (Debian/Ubuntu: `apt-get install -y packer`; elsewhere see https://developer.hashicorp.com/packer/install) and try again.',
      [],
      { cause },
    ),
  ENOMOTO: (cause?: unknown) =>
    new GildError('ENOMOTO', 'usage', '`--local` needs the moto AWS emulator, and `moto_server` is not on PATH. Install it with `pip install "moto[server]"` and try again.', [], { cause }),
  ENOENDPOINT: () => new GildError('ENOENDPOINT', 'usage', 'No AWS region is configured. Set AWS_REGION (or AWS_DEFAULT_REGION), or pass --local to run against a local emulator.'),
  EAWS: (action: string, resource: string, cause: unknown) => new GildError('EAWS', 'pipeline', `AWS refused to ${action} ${resource}: ${describeAwsError(cause)}`, [], { cause }),
  /**
   * The SDK found no credentials, so no request was sent: a usage error (exit 2), as a missing region is. NOTE: no
   * call can have succeeded before under the same (absent) credentials, so nothing of this run can have changed in
   * AWS; inside a plan's step it is that step's failure like any other (the run exits 1).
   */
  ENOCREDENTIALS: (action: string, resource: string, cause: unknown) =>
    new GildError(
      'ENOCREDENTIALS',
      'usage',
      `No AWS credentials were found, so gild could not ${action} ${resource} (nothing was sent to AWS): ${describeAwsError(cause)}. Set AWS_PROFILE to a profile in ~/.aws/config (for an SSO profile, run \`aws sso login --profile <name>\` first), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones); or pass --local to run against the local emulator.`,
      [],
      { cause },
    ),
  /**
   * AWS refused the credentials as expired. NOTE: a pipeline error (exit 1), unlike ENOCREDENTIALS: a session most
   * often expires in the middle of a long run, after earlier calls under it may have changed things, and exit 2 says
   * the run never started; the next run with fresh credentials converges.
   */
  ECREDENTIALSEXPIRED: (action: string, resource: string, cause: unknown) =>
    new GildError(
      'ECREDENTIALSEXPIRED',
      'pipeline',
      `AWS refused to ${action} ${resource}: the credentials have expired (${describeAwsError(cause)}). Get fresh ones (\`aws sso login --profile <name>\` for an SSO profile, or new temporary keys) and run gild again (if they are fresh, check this machine's clock); for a long run, use credentials that last longer than it does.`,
      [],
      { cause },
    ),
  EDENIED: (action: string, resource: string, iamAction: string, cause: unknown) =>
    new GildError(
      'EDENIED',
      'pipeline',
      `AWS refused to ${action} ${resource}: the pipeline's credentials are not allowed to call ${iamAction}. Attach the policy \`gild iam-policy\` prints (pipeline/iam-policy.json) to the pipeline role; it grants ${iamAction}.`,
      [],
      { cause },
    ),
  EASSUMEROLE: (roleArn: string, account: string, cause: unknown) =>
    new GildError(
      'EASSUMEROLE',
      'pipeline',
      `gild could not assume ${roleArn} to work in account ${account}: ${describeAwsError(cause)}. The pipeline's role needs sts:AssumeRole on it (\`gild iam-policy\` grants it), and the role's trust policy must trust the pipeline's role (docs/definitions.md: "Owned copies in other accounts").`,
      [],
      { cause },
    ),
  ENOTPUBLISHED: (imageName: string, parameterName: string, region: string) =>
    new GildError('ENOTPUBLISHED', 'pipeline', `Image "${imageName}" has no published AMI in ${region}: parameter ${parameterName} does not exist. Run \`gild run ${imageName}\` first.`),
  ENOMATCHINGVERSION: (imageName: string, range: string, path: string, region: string, published: readonly string[]) =>
    new GildError(
      'ENOMATCHINGVERSION',
      'pipeline',
      `Image "${imageName}" has no published version in ${region} that satisfies "${range}" (under ${path}: ${published.length > 0 ? published.join(', ') : 'none'}). Widen the range, or publish a matching version with \`gild run ${imageName}\`.`,
    ),
  EREVOKED: (revoked: { image: string; version: string; region: string; parameterName: string; amiId: string; reason: string; at: string; by: string; replacement?: string }) =>
    new GildError(
      'EREVOKED',
      'pipeline',
      `Image "${revoked.image}" ${revoked.version} in ${revoked.region} (${revoked.amiId}, from ${revoked.parameterName}) was revoked: ${revoked.reason} (by ${revoked.by} at ${revoked.at}). ${revoked.replacement ? `Use ${revoked.replacement} instead (\`gild resolve ${revoked.image} --version ${revoked.replacement}\`)` : 'Use a version published since'}, or pass --allow-revoked (allowRevoked: true) to get it anyway.`,
      [`reason: ${revoked.reason}`, ...(revoked.replacement ? [`replacement: ${revoked.replacement}`] : [])],
    ),
  EBADPARAMETER: (parameterName: string, region: string, what: string) =>
    new GildError(
      'EBADPARAMETER',
      'pipeline',
      `Parameter ${parameterName} in ${region} does not name an AMI: ${what}. Nothing was returned. gild writes only AMI IDs as aws:ec2:image; someone else wrote this: run \`gild verify --repair\` or publish again with \`gild run\`.`,
    ),
  EPIPELINE: (failed: readonly (string | { readonly image: string; readonly stage: string })[], failedRunSteps: readonly string[] = []) => {
    // NOTE: a failure in a distribution account comes after the building account published: saying nothing was
    // published would send people looking for a failed build.
    const inAccounts = failed.flatMap((entry) => (typeof entry !== 'string' && inDistribution(entry.stage) ? [entry] : []));
    const others = failed.filter((entry) => typeof entry === 'string' || !inDistribution(entry.stage)).map((entry) => (typeof entry === 'string' ? entry : entry.image));
    return new GildError(
      'EPIPELINE',
      'pipeline',
      [
        ...(others.length > 0
          ? [`${others.length} image${others.length === 1 ? '' : 's'} failed: ${others.join(', ')}. Nothing was published for ${others.length === 1 ? 'it' : 'them'}; see the logs above.`]
          : []),
        ...(inAccounts.length > 0
          ? [
              `${inAccounts.length} image${inAccounts.length === 1 ? '' : 's'} failed in a distribution account: ${inAccounts.map((entry) => `${entry.image} (${entry.stage})`).join(', ')}. The building account published ${inAccounts.length === 1 ? 'it' : 'them'}; the next run finishes the distribution (see the logs above).`,
            ]
          : []),
        ...(failedRunSteps.length > 0
          ? [
              `${failedRunSteps.length} run-wide step${failedRunSteps.length === 1 ? '' : 's'} failed: ${failedRunSteps.join(', ')}. The images' own steps went on; the next run plans ${failedRunSteps.length === 1 ? 'it' : 'them'} again (see the run log).`,
            ]
          : []),
      ].join(' '),
    );
  },
  EPLANMOVED: (moved: readonly string[]) =>
    new GildError('EPLANMOVED', 'pipeline', 'The world moved since the plan was made, so it was not applied. Make a new plan (`gild plan --json > plan.json`), review it, and apply that one.', moved),
  EPLANINVALID: (file: string, problems: readonly string[]) =>
    new GildError('EPLANINVALID', 'usage', `--plan ${file}: it is not a gild plan; nothing was applied. Make one with \`gild plan --json > ${file}\`.`, problems),
  EPLANREFUSED: (file: string, differences: readonly string[]) =>
    new GildError(
      'EPLANREFUSED',
      'usage',
      `--plan ${file}: it asks for steps a plan made now would not take, so nothing was applied (a saved plan is a request, never an authority). Make a new plan (\`gild plan --json > ${file}\`), review it, and apply that one.`,
      differences,
    ),
  EREPORTMERGE: (problems: readonly string[]) =>
    new GildError(
      'EREPORTMERGE',
      'usage',
      'The reports cannot be merged into one. Merge only the report.json files of one fleet run (one plan), written by one gild version, and pass the plan with --plan.',
      problems,
    ),
} satisfies Record<ErrorCode, Entry>;

/** AWS SDK errors carry `name` (the AWS error code) and a message; show both. */
export function describeAwsError(error: unknown): string {
  if (error instanceof GildError) return error.message;
  if (error instanceof Error) {
    const code = (error as { name?: string }).name;
    return code && code !== 'Error' && !error.message.startsWith(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export function isGildError(error: unknown): error is GildError {
  return error instanceof GildError;
}
