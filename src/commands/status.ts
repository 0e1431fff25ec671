/**
 * `gild status`: who runs which version. Reads the inventory once and who uses
 * each gild AMI (one batched scan per region), changes nothing. `--fail-on`
 * turns what it finds into an exit code for a CI gate.
 */
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { observeReferences } from '../observe/observe-references.ts';
import type { Inventory } from '../observe/inventory.ts';
import { clientsInAccount } from '../adapters/aws-clients.ts';
import { sessionNameFor } from '../adapters/sts.ts';
import { asAwsClients } from '../stages/distribute.ts';
import { assembleStatus, formatStatus, type FleetStatus } from '../report/assemble-status.ts';

export interface StatusOptions {
  readonly json: boolean;
  /** `revoked`: fail when a revoked version is in use; `old`: also when a version published 30 or more days ago is. */
  readonly failOn?: string | undefined;
}

export interface StatusIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const failOnValues = ['revoked', 'old'] as const;

export function checkStatusOptions(options: StatusOptions): void {
  if (options.failOn !== undefined && !(failOnValues as readonly string[]).includes(options.failOn)) {
    throw catalogue.EUSAGE(
      `--fail-on "${options.failOn}": expected one of ${failOnValues.join(', ')} (revoked: a revoked version is in use; old: a version published 30 or more days ago is in use, or a revoked one).`,
    );
  }
}

export async function statusCommand(context: Context, images: readonly ResolvedImage[], options: StatusOptions, io: StatusIo): Promise<number> {
  checkStatusOptions(options);
  const inventory = await observeInventory(context, images, { baseOverrides: context.options.baseOverrides, retentionRules: true });
  const capabilities = context.target.references;
  const references: Record<string, Record<string, string[]>> = {};
  const names = new Set(images.map((image) => image.name));
  await Promise.all(
    Object.values(inventory.regions).map(async (region) => {
      const amiIds = region.amis.filter((ami) => names.has(ami.tags['gild:image'] ?? '')).map((ami) => ami.amiId);
      references[region.region] = await observeReferences(context.clients, region.region, amiIds, { ssmPrefix: context.settings.ssmPrefix, capabilities });
    }),
  );
  const accountReferences = await observeAccountReferences(context, inventory, images);
  const status = assembleStatus({ inventory, images, references, accountReferences, now: context.now() });
  io.stdout(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  const failures = gateFailures(status, options.failOn);
  for (const failure of failures) io.stderr(`gild status --fail-on ${options.failOn}: ${failure}\n`);
  return failures.length > 0 ? 1 : 0;
}

/** Who uses the copies in each distribution account gild could read, asked there as its role: account → region → AMI → users. */
async function observeAccountReferences(context: Context, inventory: Inventory, images: readonly ResolvedImage[]): Promise<Record<string, Record<string, Record<string, string[]>>>> {
  const byAccount: Record<string, Record<string, Record<string, string[]>>> = {};
  const names = new Set(images.map((image) => image.name));
  const targets = new Map(images.flatMap((image) => image.distribution.map((target) => [target.roleArn, target] as const)));
  await Promise.all(
    [...targets.values()].map(async (target) => {
      const observed = inventory.accounts?.[target.roleArn];
      if (observed?.kind !== 'observed') return;
      const clients = asAwsClients(context, clientsInAccount(context.clients, context.env, target, sessionNameFor(context.runId)));
      const regions = await Promise.all(
        Object.entries(observed.regions).map(async ([region, held]) => {
          const amiIds = held.amis.filter((ami) => names.has(ami.tags['gild:image'] ?? '')).map((ami) => ami.amiId);
          const users = amiIds.length === 0 ? {} : await observeReferences(clients, region, amiIds, { ssmPrefix: context.settings.ssmPrefix, capabilities: context.target.references });
          return [region, users] as const;
        }),
      );
      byAccount[target.account] = Object.fromEntries(regions);
    }),
  );
  return byAccount;
}

function gateFailures(status: FleetStatus, failOn: string | undefined): string[] {
  if (failOn === undefined) return [];
  const uses = status.images.flatMap((image) => image.regions.flatMap((region) => region.inUse));
  const failing = uses.filter((use) => use.revoked || (failOn === 'old' && use.ageBand === 'old'));
  return failing.map(
    (use) =>
      `${use.image} ${use.version ?? '?'} (${use.amiId}, ${use.account ? `account ${use.account} ` : ''}${use.region}) is ${use.revoked ? 'revoked' : `${use.ageDays} days old`} and used by ${use.users.join(', ')}`,
  );
}

import { createIoLogger, type Io } from './io.ts';
import { withImagesInContext } from './run-steps.ts';
/** `gild status` from the command line: the project, the context, then statusCommand. */
export async function status(options: StatusOptions & { readonly images: readonly string[] }, io: Io): Promise<number> {
  checkStatusOptions(options);
  return withImagesInContext(io, createIoLogger(io), { images: options.images }, (context, images) => statusCommand(context, images, options, io));
}
