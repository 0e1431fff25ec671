/**
 * What one run observed of the world, read once, before any decision. The
 * assembler (`src/plan/assemble-plan.ts`) decides from this alone; nothing in
 * it is a client or a promise, so a plan can be made again from a saved
 * inventory and get the same answer.
 */

import type { RecycleBinSight } from '../plan/recycle-bin.ts';

/** A publish lock, stored as JSON in `<prefix>/<image>/lock` in the image's build region. */
export interface Lease {
  readonly runId: string;
  readonly host: string;
  readonly pid: number;
  /**
   * The owner's kernel boot ID (Linux), when it has one: a pid means something only on the same host in the same boot.
   * Leases of an older gild, or taken where there is no boot ID, have none: only their expiry tells.
   */
  readonly bootId?: string;
  /**
   * The owner's PID namespace (Linux: `readlink /proc/self/ns/pid`, e.g. `pid:[4026531836]`), when it has one: sibling
   * containers on one machine share the host name and boot ID, but not their pids. Older leases have none.
   */
  readonly pidNamespace?: string;
  /** ISO time the lease was first taken. */
  readonly takenAt: string;
  /** ISO time after which anyone may take it over; renewed while the run works. */
  readonly expiresAt: string;
}

export type LeaseState =
  | { readonly kind: 'free' }
  /** A parameter exists but does not parse as a lease (written by hand, or by an older gild). */
  | { readonly kind: 'unreadable'; readonly raw: string }
  | {
      readonly kind: 'held';
      readonly lease: Lease;
      readonly raw: string;
      /**
       * Whether the owner still runs: `false` when the owner is this host in this boot and its pid is gone, `true` when
       * it is and alive, `undefined` otherwise (another host, another boot, or no boot ID to tell: only the expiry tells).
       */
      readonly ownerAlive: boolean | undefined;
    };

export interface ObservedParameter {
  readonly name: string;
  readonly value: string;
  readonly version: number;
  readonly lastModified: string | undefined;
}

export interface ObservedAmi {
  readonly amiId: string;
  readonly name: string;
  /** pending, available, failed, disabled, … */
  readonly state: string;
  readonly createdAt: string;
  readonly deprecationTime: string | undefined;
  readonly snapshotIds: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** What the observation keeps of an AMI the adapter described (an `ImageSummary` has more than the plan reads). */
export function observedAmiOf(ami: ObservedAmi): ObservedAmi {
  return { amiId: ami.amiId, name: ami.name, state: ami.state, createdAt: ami.createdAt, deprecationTime: ami.deprecationTime, snapshotIds: ami.snapshotIds, tags: ami.tags };
}

export interface ObservedInstance {
  readonly instanceId: string;
  readonly state: string;
  readonly launchedAt: string | undefined;
  readonly imageId: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface ObservedSnapshot {
  readonly snapshotId: string;
  readonly startTime: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** A key pair or security group gild (or Packer, on gild's behalf) created for one build. */
export interface ObservedTemporaryResource {
  readonly kind: 'key-pair' | 'security-group';
  readonly id: string;
  readonly name: string;
  /** The run that made it, from its tag or its name (`gild_<runId>_<image>`). */
  readonly runId: string | undefined;
  readonly image: string | undefined;
  readonly createdAt: string | undefined;
}

/**
 * A temporary resource's run and image, from its tags or its name: Packer's `gild_<runId>_<image>` and the smoke
 * test's `gild_<runId>-smoke_<image>` (src/smoke/launch-instances.ts), whose run is `<runId>`: the run whose lock
 * says whether it is still in use.
 */
export function observedTemporaryResourceOf(resource: {
  readonly kind: 'key-pair' | 'security-group';
  readonly id: string;
  readonly name: string;
  readonly createdAt: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}): ObservedTemporaryResource {
  const fromName = /^gild_(.+?)(?:-smoke)?_([a-z][a-z0-9-]*)$/.exec(resource.name);
  return {
    kind: resource.kind,
    id: resource.id,
    name: resource.name,
    runId: resource.tags['gild:run-id'] ?? fromName?.[1],
    image: resource.tags['gild:image'] ?? fromName?.[2],
    createdAt: resource.createdAt,
  };
}

export interface RegionInventory {
  readonly region: string;
  /** Every parameter under the SSM prefix in this region (all images), from one paginated read. */
  readonly parameters: readonly ObservedParameter[];
  /** Every AMI this account owns that carries `gild:image`, in any state (deprecated and disabled included). */
  readonly amis: readonly ObservedAmi[];
  /** Instances tagged `gild:role` (build or smoke) that are not terminated. */
  readonly instances: readonly ObservedInstance[];
  readonly temporaryResources: readonly ObservedTemporaryResource[];
  /** Snapshots tagged `gild:image`: those of no existing AMI are leftovers of a removal that stopped halfway. */
  readonly snapshots: readonly ObservedSnapshot[];
  /**
   * AMIs this account owns named like a build of an image of this region (`<image>-…`) that carry no `gild:image`:
   * gild stopped between Packer's CreateImage and its tagging. Absent in inventories made without this read.
   */
  readonly untaggedAmis?: readonly ObservedAmi[];
  /** Who uses an AMI (only AMIs the assembler may want to delete are looked up), by AMI ID. */
  readonly references: Readonly<Record<string, readonly string[]>>;
  /** Whom an AMI the assembler may retire is shared with (launch permissions, in words), by AMI ID: their use is invisible here. */
  readonly sharing?: Readonly<Record<string, readonly string[]>>;
  /** Which AMIs of this account a snapshot of such an AMI backs, by snapshot ID. */
  readonly snapshotUsers?: Readonly<Record<string, readonly string[]>>;
  /** The Recycle Bin's retention rules (src/plan/recycle-bin.ts); absent where the target has no Recycle Bin. */
  readonly recycleBin?: RecycleBinSight;
}

export type ObservedBase =
  | { readonly kind: 'resolved'; readonly amiId: string; readonly source: string }
  | { readonly kind: 'unresolved'; readonly reason: string }
  /** Built on another gild image: the assembler resolves it from that image's published versions or its plan. */
  | { readonly kind: 'image'; readonly image: string; readonly range: string | undefined };

/** What another account holds of gild's in one region: its parameters under the prefix and its gild AMIs. */
export interface AccountRegionInventory {
  readonly parameters: readonly ObservedParameter[];
  readonly amis: readonly ObservedAmi[];
  /** gild's instances there (`gild:role`, not terminated): an account smoke test's, if its run stopped before ending them. */
  readonly instances?: readonly ObservedInstance[];
  /** gild's key pairs there: a Windows account smoke test's (`gild_<runId>-smoke_<image>`), if its run died holding one. */
  readonly temporaryResources?: readonly ObservedTemporaryResource[];
}

/** A distribution account, read through its role: by region, or why it could not be read. */
export type AccountInventory =
  | { readonly kind: 'observed'; readonly account: string; readonly regions: Readonly<Record<string, AccountRegionInventory>> }
  | { readonly kind: 'unreachable'; readonly account: string; readonly reason: string };

export interface Inventory {
  readonly observedAt: string;
  readonly ssmPrefix: string;
  readonly regions: Readonly<Record<string, RegionInventory>>;
  /** The base each image would build from now, by image name. */
  readonly bases: Readonly<Record<string, ObservedBase>>;
  /** Publish locks by image name (read from the build region's parameters). */
  readonly leases: Readonly<Record<string, LeaseState>>;
  /** Distribution accounts (`distribution.accounts`), by the role ARN gild reads them through; absent when none. */
  readonly accounts?: Readonly<Record<string, AccountInventory>>;
}
