/** Shared by the AWS adapters: what failed is said once, with the SDK error kept as `cause`. */
import { catalogue } from '../errors.ts';

/** Runs one AWS call; a failure becomes `EAWS` naming the action and the resource. */
export async function awsCall<T>(action: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw catalogue.EAWS(action, resource, error);
  }
}

/** The AWS error code of an SDK error (`ParameterNotFound`, `InvalidInstanceId`, …). */
export const awsErrorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;
