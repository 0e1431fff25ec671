/**
 * What every gild SDK client is configured with, kept apart from the clients
 * so that a command needing one service (`resolve`: SSM) loads only that
 * service's SDK. The SDK reads nothing else from the environment here: the
 * context's environment is passed in.
 */

import { stepRunningNow } from '../step-scope.ts';

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

/**
 * Marks every error a client throws with the IAM action of the call
 * (`ssm:PutParameter`), so that a refusal can name what the role lacks even
 * when the answer could not be parsed (see deniedAction in aws-call.ts).
 */
export function nameActionOnErrors<Client extends { middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string }): void } }>(client: Client, service: string): Client {
  const middleware = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (error) {
      if (error && typeof error === 'object' && context.commandName) {
        Object.defineProperty(error, '$iamAction', { value: `${service}:${context.commandName.replace(/Command$/, '')}`, enumerable: false, configurable: true });
      }
      throw error;
    }
  };
  client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'gildNameActionOnErrors' });
  return labelRequestsWithStep(client);
}

/** The header naming the runner step a request was sent from (only when GILD_LABEL_AWS_REQUESTS is set). */
export const stepLabelHeader = 'x-gild-step';

/**
 * Under GILD_LABEL_AWS_REQUESTS (set by the test suite; spawned gild processes inherit it), every request carries
 * the runner step it was sent from, `-` outside every step, and the sending process's id, so that the test proxy can
 * prove each AWS write was made by a plan step (step-scope.ts). Without the variable, nothing is added.
 */
export function stepLabelHeaders(): Record<string, string> {
  if (!process.env.GILD_LABEL_AWS_REQUESTS) return {};
  return { [stepLabelHeader]: stepRunningNow() ?? '-', [`${stepLabelHeader}-pid`]: String(process.pid), [`${stepLabelHeader}-command`]: process.argv[2] ?? '' };
}

/** Adds `stepLabelHeaders()` to every request the client sends (see above). */
export function labelRequestsWithStep<Client extends { middlewareStack: object }>(client: Client): Client {
  if (!process.env.GILD_LABEL_AWS_REQUESTS) return client;
  const middleware = (next: (args: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
    const request = args.request as { headers?: Record<string, string> };
    // The gild command (`verify`, `run`, …) of the process is among them, so that a stray names where it came from.
    if (request.headers) Object.assign(request.headers, stepLabelHeaders());
    return next(args);
  };
  (client.middlewareStack as { add(middleware: unknown, options: { step: 'build'; name: string }): void }).add(middleware, { step: 'build', name: 'gildLabelRequestsWithStep' });
  return client;
}
