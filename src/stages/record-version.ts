/**
 * Writes to the version ledger (`<prefix>/<image>/ledger` in the build region, src/plan/version-ledger.ts): read,
 * change, write only if it still holds what was read. Only a run holding the image's lock writes it; the re-check
 * keeps a hand edit (or a gild without locks) from being overwritten unseen, and a lost answer is recognised by
 * reading back. Idempotent: a change already recorded writes nothing.
 */
import { deleteParameterIfValue, getParameter, putParameterExpecting } from '../adapters/ssm.ts';
import { StepFailure } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError } from '../errors.ts';
import { ledgerParameterName, statusParameterName } from '../plan/parameter-names.ts';
import { parseVersionStatus, serializeVersionStatus, type VersionStatus } from '../plan/version-status.ts';
import { parseLedger, serializeLedger, type VersionLedger } from '../plan/version-ledger.ts';
import { fitLedger, ledgerTier, ledgerValueLimit } from '../plan/fit-ledger.ts';

const attempts = 3;

/** This process's ledger writes in progress, per SSM client (one per region) and parameter name: the last one's end. */
const ledgerTurns = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * Runs `write` once every ledger write this process started earlier on the same parameter has ended (written or not).
 *
 * NOTE: hand-written rather than p-limit (not a dependency): it is one promise chain per key, and a limiter per key
 * would need the same map around it.
 */
async function inTurn(client: object, name: string, write: () => Promise<void>): Promise<void> {
  let turns = ledgerTurns.get(client);
  if (!turns) ledgerTurns.set(client, (turns = new Map()));
  const mine = (turns.get(name) ?? Promise.resolve()).then(write);
  const ended = mine.catch(() => undefined);
  turns.set(name, ended);
  try {
    await mine;
  } finally {
    if (turns.get(name) === ended) turns.delete(name);
  }
}

/**
 * Two steps of one run may write one image's ledger at once (a publish and the finish of an unfinished revoke, two
 * revokes of `--cascade`; the plan orders those it can see, src/plan/plan-revocation.ts chainLedgerWriters). Each
 * change is a merge into what the ledger holds, so they take turns in this process, and each write re-reads the
 * ledger just before it (no `readJustNow`: the read the change was made from may be a turn old) and starts over from
 * that read when it changed.
 */
export async function recordInLedger(context: Context, image: Pick<ResolvedImage, 'name' | 'buildRegion'>, change: (ledger: VersionLedger) => VersionLedger): Promise<void> {
  const ssm = context.clients.ssm(image.buildRegion);
  const name = ledgerParameterName(context.settings.ssmPrefix, image.name);
  await inTurn(ssm, name, async () => {
    for (let attempt = 1; ; attempt++) {
      const current = await getParameter(ssm, name);
      const ledger = parseLedger(current?.value);
      const changed = change(ledger);
      if (changed === ledger && current !== undefined) return;
      const value = serializeLedger(fitLedger(changed));
      const bytes = Buffer.byteLength(value, 'utf8');
      if (bytes > ledgerValueLimit) {
        throw new StepFailure(
          `could not record in ${name} (${image.buildRegion}): the ledger would be ${bytes} bytes, and a parameter holds at most ${ledgerValueLimit} (every revocation's reason is already cut short; none is dropped, each is an intent). Nothing was written; remove restored revocations older than any AMI of ${image.name} from the parameter by hand, and run again`,
        );
      }
      const written = await putParameterExpecting(ssm, name, value, {
        expected: current?.value,
        dataType: 'text',
        tier: ledgerTier,
        description: `${image.name}: every version number ever built, and every revocation (gild keeps it; never reused)`,
      }).catch((error: unknown) => {
        throw new StepFailure(`could not record in ${name} (${image.buildRegion}): ${describeAwsError(error)}`, [], { cause: error });
      });
      if (written === 'written') return;
      if (attempt >= attempts) throw new StepFailure(`${name} in ${image.buildRegion} kept changing while gild recorded in it; nothing else was written`);
    }
  });
}

/**
 * Writes a version's status parameter (`status/<v>`) in one region, merged with what is there: read, change, write
 * only if it still holds what was read. Not a String parameter naming an AMI: `text`, so nothing mistakes it for one.
 */
export async function recordVersionStatus(context: Context, region: string, imageName: string, version: string, change: (status: VersionStatus) => VersionStatus): Promise<void> {
  const ssm = context.clients.ssm(region);
  const name = statusParameterName(context.settings.ssmPrefix, imageName, version);
  for (let attempt = 1; ; attempt++) {
    const current = await getParameter(ssm, name);
    const value = serializeVersionStatus(change(current ? parseVersionStatus(current.value) : {}));
    if (current?.value === value) return;
    const written = await putParameterExpecting(ssm, name, value, {
      expected: current?.value,
      readJustNow: { current },
      dataType: 'text',
      description: `${imageName} ${version}: what resolve tells consumers (revoked, deprecated)`,
    }).catch((error: unknown) => {
      throw new StepFailure(`could not record ${name} (${region}): ${describeAwsError(error)}`, [], { cause: error });
    });
    if (written === 'written') return;
    if (attempt >= attempts) throw new StepFailure(`${name} in ${region} kept changing while gild recorded in it`);
  }
}

/** Removes a version's status parameter with its `versions/<v>` (retirement's deregister phase); absent is fine. */
export async function removeVersionStatus(context: Context, region: string, imageName: string, version: string): Promise<void> {
  const ssm = context.clients.ssm(region);
  const name = statusParameterName(context.settings.ssmPrefix, imageName, version);
  const current = await getParameter(ssm, name);
  if (current) await deleteParameterIfValue(ssm, name, current.value, { current });
}
