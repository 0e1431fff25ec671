/**
 * What every gild SDK client is configured with, kept apart from the clients
 * so that a command needing one service (`resolve`: SSM) loads only that
 * service's SDK. The SDK reads nothing else from the environment here: the
 * context's environment is passed in.
 */

// NOTE: adaptive retry adds client-side rate limiting on top of exponential
// backoff, which is what keeps a nightly run of many images inside the EC2
// and SSM API budgets. Throttling and 5xx answers are retried; nothing else is.
const maxAttempts = 8;

export function awsClientConfig(region: string, endpoint: string | undefined, env: Readonly<Record<string, string | undefined>>) {
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  return { region, maxAttempts, retryMode: 'adaptive' as const, ...(credentials ? { credentials } : {}), ...(endpoint ? { endpoint } : {}) };
}

export const ssmEndpoint = (env: Readonly<Record<string, string | undefined>>) => env.AWS_ENDPOINT_URL_SSM ?? env.AWS_ENDPOINT_URL;
export const ec2Endpoint = (env: Readonly<Record<string, string | undefined>>) => env.AWS_ENDPOINT_URL_EC2 ?? env.AWS_ENDPOINT_URL;
