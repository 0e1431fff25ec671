/** Shared by the AWS adapters: what failed is said once, with the SDK error kept as `cause`. */
import { catalogue, type GildError } from '../errors.ts';

/** Runs one AWS call; a failure becomes `EAWS` (or `EDENIED`) naming the action and the resource. */
export async function awsCall<T>(action: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsError(action, resource, error);
  }
}

/**
 * The catalogue error for a failed AWS call. A permission refusal names the
 * IAM action the role lacks, so that the fix (grant it) is obvious.
 */
export function awsError(action: string, resource: string, error: unknown): GildError {
  const credentials = credentialsFailure(error);
  if (credentials === 'missing') return catalogue.ENOCREDENTIALS(action, resource, error);
  if (credentials === 'expired') return catalogue.ECREDENTIALSEXPIRED(action, resource, error);
  const denied = deniedAction(error);
  return denied ? catalogue.EDENIED(action, resource, denied, error) : catalogue.EAWS(action, resource, error);
}

/** What the SDK's credential providers throw when none of them found credentials (or an SSO token to get them with). */
const providerFailureNames = new Set(['CredentialsProviderError', 'TokenProviderError']);
/**
 * What AWS answers for a session token past its expiry: ExpiredToken (STS and the query services),
 * ExpiredTokenException (SSM and the JSON services), RequestExpired (EC2, which also says it of a request signed more
 * than 5 minutes off its clock, which the SDK corrects and retries by itself).
 */
const expiredCodes = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

/**
 * `missing`: the SDK found no credentials, so the request was never sent; `expired`: AWS refused the credentials as
 * expired. Told apart from every other failure here, once for every adapter, so that each is said with its fix.
 */
export function credentialsFailure(error: unknown): 'missing' | 'expired' | undefined {
  const name = awsErrorName(error);
  if (name && providerFailureNames.has(name)) return 'missing';
  if (name && expiredCodes.has(name)) return 'expired';
  return undefined;
}

const deniedPattern = /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)/;
const denialCodes = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess']);
/** 403 answers that are about the credentials, not about a missing permission. */
const credentialFailureCodes = new Set(['SignatureDoesNotMatch', 'InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'AuthFailure', 'UnrecognizedClientException', 'IncompleteSignature']);

/**
 * The IAM action a permission refusal is about (`ssm:PutParameter`), or
 * undefined when the error is not one. AWS names the action in the message;
 * when it does not, or when the SDK could not parse the answer at all (moto
 * answers an SSM denial in XML where the SDK expects JSON), the action is the
 * call's own, which the clients mark on every error (aws-clients.ts).
 */
export function deniedAction(error: unknown): string | undefined {
  const failure = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $iamAction?: unknown } | undefined;
  const named = typeof failure?.message === 'string' ? deniedPattern.exec(failure.message)?.[1] : undefined;
  if (named) return named;
  const code = typeof failure?.name === 'string' ? failure.name : '';
  const refused = denialCodes.has(code) || (failure?.$metadata?.httpStatusCode === 403 && !credentialFailureCodes.has(code));
  return refused && typeof failure?.$iamAction === 'string' ? failure.$iamAction : undefined;
}

/** The AWS error code of an SDK error (`ParameterNotFound`, `InvalidInstanceId`, …). */
export const awsErrorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;
