/**
 * Writes to the version ledger (`<prefix>/<image>/ledger` in the build region, src/plan/version-ledger.ts): read,
 * change, write only if it still holds what was read. Only a run holding the image's lock writes it; the re-check
 * keeps a hand edit (or a gild without locks) from being overwritten unseen, and a lost answer is recognised by
 * reading back. Idempotent: a change already recorded writes nothing.
 */
import { getParameter, putParameterExpecting } from '../adapters/ssm.ts';
import { StepFailure } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError } from '../errors.ts';
import { ledgerParameterName } from '../plan/parameter-names.ts';
import { parseLedger, serializeLedger, type VersionLedger } from '../plan/version-ledger.ts';

const attempts = 3;

export async function recordInLedger(context: Context, image: Pick<ResolvedImage, 'name' | 'buildRegion'>, change: (ledger: VersionLedger) => VersionLedger): Promise<void> {
  const ssm = context.clients.ssm(image.buildRegion);
  const name = ledgerParameterName(context.settings.ssmPrefix, image.name);
  for (let attempt = 1; ; attempt++) {
    const current = await getParameter(ssm, name);
    const ledger = parseLedger(current?.value);
    const changed = change(ledger);
    if (changed === ledger && current !== undefined) return;
    const written = await putParameterExpecting(ssm, name, serializeLedger(changed), {
      expected: current?.value,
      dataType: 'text',
      description: `${image.name}: every version number ever built, and every revocation (gild keeps it; never reused)`,
    }).catch((error: unknown) => {
      throw new StepFailure(`could not record in ${name} (${image.buildRegion}): ${describeAwsError(error)}`, [], { cause: error });
    });
    if (written === 'written') return;
    if (attempt >= attempts) throw new StepFailure(`${name} in ${image.buildRegion} kept changing while gild recorded in it; nothing else was written`);
  }
}
