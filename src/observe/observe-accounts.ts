/**
 * What the distribution accounts hold of gild's: for every role some image distributes through, in every region it
 * copies into, the parameters under the prefix, the AMIs tagged `gild:image`, gild's instances and its `gild_*` key pairs, read as that role. The plan decides
 * from these whether a copy or a parameter is missing there, so a rerun after a crash finishes the distribution and
 * a run with nothing missing does nothing. An account that cannot be read is recorded with the reason, never thrown:
 * its image's distribution fails, with that reason, and everything else goes on.
 */
import { clientsInAccount } from '../adapters/aws-clients.ts';
import { sessionNameFor } from '../adapters/sts.ts';
import { allGildImages, describeGildKeyPairs, describeImages, describeInstances } from '../adapters/ec2.ts';
import { listParametersUnder } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError } from '../errors.ts';
import { observedAmiOf, observedTemporaryResourceOf, type AccountInventory, type AccountRegionInventory } from './inventory.ts';

export async function observeAccounts(context: Context, images: readonly ResolvedImage[]): Promise<Record<string, AccountInventory>> {
  const targets = new Map<string, { account: string; roleArn: string; regions: Set<string> }>();
  for (const image of images) {
    for (const target of image.distribution) {
      const entry = targets.get(target.roleArn) ?? { account: target.account, roleArn: target.roleArn, regions: new Set<string>() };
      for (const region of target.regions) entry.regions.add(region);
      targets.set(target.roleArn, entry);
    }
  }
  const observed = await Promise.all(
    [...targets.values()].map(async ({ account, roleArn, regions }): Promise<[string, AccountInventory]> => {
      const clients = clientsInAccount(context.clients, context.env, { account, roleArn }, sessionNameFor(context.runId));
      try {
        await clients.confirmAccess();
        const byRegion = await Promise.all(
          [...regions].map(async (region): Promise<[string, AccountRegionInventory]> => {
            const [parameters, amis, instances, temporary] = await Promise.all([
              listParametersUnder(clients.ssm(region), context.settings.ssmPrefix),
              describeImages(clients.ec2(region), allGildImages),
              // An account smoke test whose run died leaves its instance running there: the sweep needs to see it.
              describeInstances(clients.ec2(region), [
                { Name: 'tag-key', Values: ['gild:role'] },
                { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
              ]),
              // And a Windows account smoke test's key pair: gild makes no security groups there (builds never run there).
              describeGildKeyPairs(clients.ec2(region)),
            ]);
            return [
              region,
              {
                parameters,
                amis: amis.map(observedAmiOf),
                instances: instances.map((instance) => ({
                  instanceId: instance.instanceId,
                  state: instance.state,
                  launchedAt: instance.launchedAt?.toISOString(),
                  imageId: instance.imageId,
                  tags: instance.tags,
                })),
                temporaryResources: temporary.map(observedTemporaryResourceOf),
              },
            ];
          }),
        );
        return [roleArn, { kind: 'observed', account, regions: Object.fromEntries(byRegion) }];
      } catch (error) {
        return [roleArn, { kind: 'unreachable', account, reason: describeAwsError(error) }];
      }
    }),
  );
  return Object.fromEntries(observed);
}
