/**
 * Where gild runs, chosen once and said in the log: `aws` (the default) or
 * `emulator` (moto: `--local`, or `GILD_TARGET=emulator` with
 * `AWS_ENDPOINT_URL` pointing at a running moto). Nothing probes the endpoint
 * to decide: an emulator renders differently (no provisioners, communicator
 * "none", stand-in sources), and that must never happen by surprise against
 * a real account.
 */
import { catalogue } from '../errors.ts';

export type Target = { readonly kind: 'aws' } | { readonly kind: 'emulator'; readonly endpoint: string; readonly why: string };

export function chooseTarget(input: { readonly startedEmulator: string | undefined; readonly env: Readonly<Record<string, string | undefined>> }): Target {
  if (input.startedEmulator) return { kind: 'emulator', endpoint: input.startedEmulator, why: '--local started it for this run' };
  const requested = input.env.GILD_TARGET;
  if (requested === undefined || requested === '' || requested === 'aws') return { kind: 'aws' };
  if (requested !== 'emulator') throw catalogue.EUSAGE(`GILD_TARGET=${JSON.stringify(requested)} is not a target gild knows. Use GILD_TARGET=aws (the default) or GILD_TARGET=emulator.`);
  const endpoint = input.env.AWS_ENDPOINT_URL_EC2 ?? input.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw catalogue.EUSAGE('GILD_TARGET=emulator needs AWS_ENDPOINT_URL pointing at the emulator (e.g. http://127.0.0.1:5000), or use --local to start one.');
  return { kind: 'emulator', endpoint, why: 'GILD_TARGET=emulator' };
}
