/**
 * The plan is the contract: every effect a run has on AWS is one step here,
 * with its reason, before anything happens. `gild plan` prints it,
 * `gild plan --json` saves it, `gild run` applies exactly it (and
 * `gild run --plan file` applies a saved one). The runner never decides
 * again; it only checks, right before each destructive step, that what the
 * step's precondition says still holds.
 *
 * JSON-serialisable by construction: strings, numbers, arrays and plain
 * objects only.
 */
import type { SharingPermissions } from '../adapters/ec2.ts';
import type { Lease } from '../observe/inventory.ts';
import type { NotifyEvent } from '../notify/notify-settings.ts';

export const planSchemaVersion = 1;

/**
 * Where a step's AMIs come from: an earlier step's output ("known after apply"), or already known. `copies` names the
 * gild-owned region copies (`copy` steps, by region) that complete a build made in the build region only.
 */
export type AmiSource = { readonly from: string; readonly copies?: Readonly<Record<string, string>> } | { readonly amis: Readonly<Record<string, string>> };

/** The base AMI a build starts from. */
export type BuildBase =
  | { readonly kind: 'ami'; readonly amiId: string; readonly source: string }
  /** Another image's version published earlier in this run (its `publish` step), in the build region. */
  | { readonly kind: 'published-in-run'; readonly from: string; readonly image: string; readonly version: string; readonly source: string };

interface StepCommon {
  /** Unique in the plan, e.g. `build:web`, `retire:web:1.2.0:us-east-1`. */
  readonly id: string;
  /** Steps that must have succeeded first. */
  readonly after: readonly string[];
  /** Why this step exists, in words for the operator. */
  readonly reason: string;
  /** What must still be true when the step runs; checked against live state right before it. */
  readonly precondition: string;
}

export type SweptResource =
  | { readonly kind: 'instance'; readonly id: string }
  | { readonly kind: 'key-pair'; readonly id: string; readonly name: string }
  | { readonly kind: 'security-group'; readonly id: string; readonly name: string }
  /** A take-over claim parameter (`<lock>.takeover-<digest>`) its taker left; removed only while it still holds `value`. */
  | { readonly kind: 'takeover-claim'; readonly id: string; readonly name: string; readonly value: string };

export type PlanStep =
  | (StepCommon & {
      readonly kind: 'sweep';
      readonly region: string;
      readonly resource: SweptResource;
      readonly runId: string | undefined;
      /** A leftover in a distribution account (an account smoke test's instance): swept as its role; the lock it checks is the building account's. */
      readonly account?: { readonly account: string; readonly roleArn: string; readonly image: string; readonly lockRegion: string };
    })
  /** Remove a lock whose owner is gone (expired lease, or a dead pid on this host). */
  | (StepCommon & {
      readonly kind: 'unlock';
      readonly image: string;
      readonly region: string;
      readonly parameterName: string;
      readonly observedValue: string;
      readonly lease: Lease | undefined;
      /**
       * Only in `gild unlock`'s plan: why the lock is taken over though it is not stale (`--force` on a lease whose
       * owner may still be working, or a value that is not a gild lease). Without it, a take-over leaves alone anything
       * that is not stale; with it, anything still holding `observedValue`.
       */
      readonly breakReason?: string;
    })
  | (StepCommon & { readonly kind: 'lock'; readonly image: string; readonly region: string; readonly parameterName: string })
  | (StepCommon & { readonly kind: 'release'; readonly image: string; readonly region: string; readonly parameterName: string })
  /**
   * Deregister an AMI gild made that will never be published, and delete its snapshots; or (no `amiId`) delete
   * snapshots whose AMI is already gone.
   */
  | (StepCommon & {
      readonly kind: 'cleanup';
      readonly image: string;
      readonly region: string;
      readonly amiId: string | undefined;
      readonly snapshotIds: readonly string[];
      readonly status: string;
      /**
       * An AMI recognised by its name alone (`<image>-<version>-<runId>`, the build step's), with no gild tags: Packer
       * created it and gild stopped before tagging it. It is tagged as gild's first, then removed like any other.
       */
      readonly untagged?: { readonly runId: string; readonly version: string; readonly name: string };
    })
  | (StepCommon & {
      readonly kind: 'build';
      readonly image: string;
      readonly version: string;
      readonly regions: readonly string[];
      readonly base: BuildBase;
      readonly fingerprint: string;
      /** Unique per run: `<image>-<version>-<runId>`. */
      readonly amiName: string;
    })
  /**
   * Copy the build region's AMI into another region (CopyImage with the region's KMS key, tagged at creation, one
   * client token per source and region), beside the smoke test; finished only once the source passed it. A copy of a
   * source that failed (or is gone) is cancelled and removed. See plan-region-copies.ts.
   */
  | (StepCommon & {
      readonly kind: 'copy';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly sourceRegion: string;
      readonly source: AmiSource;
      readonly kmsKeyId: string | undefined;
      /**
       * The smoke step of the same image this copy runs beside (not in `after`: it must not wait for it). Its settling
       * without success ends the copy at once, even when the source never got tagged failed (the smoke step threw).
       */
      readonly besideSmoke?: string;
      /**
       * The `packer-exit` step of the build this copy copies (not in `after`: the copy starts at the build's AMI). The
       * copy finishes only once that step is done; when it is not (Packer failed after making the AMI), the copy is
       * cancelled and removed.
       */
      readonly besideBuild?: string;
    })
  /**
   * Wait for `packer build` to exit after its AMI was made and tagged (the build step yields at the AMI, so that the
   * smoke test and the copies start while Packer cleans up). Done only on exit 0 with a manifest naming the AMIs the
   * build yielded; otherwise, once the smoke steps beside it settled, it marks those AMIs failed and fails, so nothing
   * is shared, published or finished from them and the image's discard steps remove them. See plan-packer-exit.ts.
   */
  | (StepCommon & {
      readonly kind: 'packer-exit';
      readonly image: string;
      readonly version: string;
      /** The build step whose Packer this waits for. */
      readonly build: string;
      /** The image's smoke steps, which run beside it: a failure is recorded only after their verdicts. */
      readonly besideSmoke: readonly string[];
    })
  /** Carry on with AMIs an earlier run built for this same version and fingerprint. */
  | (StepCommon & {
      readonly kind: 'resume';
      readonly image: string;
      readonly version: string;
      readonly amis: Readonly<Record<string, string>>;
      readonly snapshots: Readonly<Record<string, readonly string[]>>;
      readonly fromRunId: string;
      readonly baseAmiId: string;
    })
  | (StepCommon & {
      readonly kind: 'smoke';
      readonly image: string;
      readonly version: string;
      readonly amis: AmiSource;
      /** The newest published version before this one, whose package manifest the new one is compared with. */
      readonly previousVersion: string | undefined;
      /**
       * Left out: the build region's test. Another region (`smoke.regions: 'all'`): the same checks on that region's
       * AMI (its copy), after the build region's test passed; a failure there marks every AMI of the version failed.
       */
      readonly region?: string;
    })
  /**
   * If the smoke test fails, and only then: withdraw every grant on one region's AMI and its snapshots, then deregister
   * it and delete its snapshots (`deregister`), or leave it marked failed until its `gild:keep-until` (`keep`:
   * `smoke.onFailure`). The runner runs it only when a step it waits for failed (its lifecycle row's `runsWhen`), and
   * checks it against live state right before, as any removal.
   */
  | (StepCommon & {
      readonly kind: 'discard';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amis: AmiSource;
      readonly onFailure: 'deregister' | 'keep';
    })
  /**
   * Make one region's AMI and its snapshots shared with exactly whom the definition says, once the smoke test
   * passed and before anything publishes it: a failing image is never visible outside the account.
   */
  | (StepCommon & {
      readonly kind: 'share';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amis: AmiSource;
      /** Who may launch the AMI afterwards: these and no one else. */
      readonly launchPermissions: SharingPermissions;
      /** Who may create volumes from each of its snapshots afterwards (snapshots know no organisations). */
      readonly volumePermissions: Pick<SharingPermissions, 'accounts' | 'groups'>;
      /**
       * The AMI's description, set here rather than by Packer: Packer sets it with ModifyImageAttribute before it
       * tags the AMI, which the pipeline role's tag-scoped ModifyImageAttribute refuses.
       */
      readonly description: string;
    })
  | (StepCommon & {
      readonly kind: 'publish';
      readonly image: string;
      readonly version: string;
      readonly amis: AmiSource;
      /** In order: every `versions/<v>` first, then the pointers (`latest`, …). */
      readonly writes: readonly ParameterWrite[];
    })
  | (StepCommon & {
      readonly kind: 'retire';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      /**
       * Retirement goes in phases with a grace period between them, each stamped on the AMI: `deprecate` (hidden from
       * casual lists, launches keep working), `disable`, then `deregister` (the AMI, its snapshots and its
       * `versions/<v>` parameter go; the record stays in tags and parameter history).
       */
      readonly phase: 'deprecate' | 'disable' | 'deregister';
      readonly snapshotIds: readonly string[];
      /** `versions/<v>` in this region, removed in the deregister phase. */
      readonly parameterName: string | undefined;
      /** The deregister phase first removes the deregistration protection gild enabled (src/plan/plan-protection.ts). */
      readonly unprotect?: boolean;
    })
  /** Enable deregistration protection on the version's AMI in one region (`protection: true` in settings). */
  | (StepCommon & { readonly kind: 'protect'; readonly image: string; readonly version: string; readonly region: string; readonly amis: AmiSource })
  /** Move one pointer (`latest`, `v<major>`, `channels/<name>`) to `version` in every region, all or nothing. */
  | (StepCommon & { readonly kind: 'repoint'; readonly image: string; readonly version: string; readonly pointer: string; readonly moves: readonly PointerMove[] })
  /**
   * A revoked version's AMI in one region. `record` (first, before any pointer moves: the intent) tags it revoked with
   * the reason, who, when and the replacement, and in the build region records the revocation in the version ledger;
   * `deprecate` (after the pointers moved) deprecates it now and, with `disable`, disables it. A step without `phase`
   * (a plan of an older gild) does both, after the pointers.
   */
  | (StepCommon & {
      readonly kind: 'revoke';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      readonly revokedReason: string;
      readonly disable: boolean;
      readonly phase?: 'record' | 'deprecate';
      /** Who asked (user@host), for the record. */
      readonly by?: string;
      /** The version `latest` moves to, for the record and for EREVOKED. */
      readonly replacement?: string;
      /** Also record the revocation in the version ledger (the build region's step). */
      readonly ledger?: boolean;
    })
  /**
   * Undo a revoke in one region (`gild restore`): the build region's step first records the restore in the version
   * ledger (from then on every reader treats the version as good again), then each region clears `status/<v>`,
   * re-enables and un-deprecates the AMI, and tags it published again. `revoked` is the revocation being undone.
   */
  | (StepCommon & {
      readonly kind: 'restore';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      readonly restoredReason: string;
      readonly by: string;
      readonly revoked: { readonly reason: string; readonly at: string; readonly by: string; readonly replacement?: string };
      readonly ledger?: boolean;
    })
  /**
   * Bring a deregistered version's AMI back from the Recycle Bin in one region (`gild restore` of a version retirement
   * removed, or a revoked one retired after `retention.keepRevokedDays`): its snapshots first, then the AMI under its
   * own ID; it is tagged `gild:status=<status>` again and `versions/<v>` names it again. A restore step of a revoked
   * version, and the pointer moves, come after it.
   */
  | (StepCommon & {
      readonly kind: 'unbin';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      /** The snapshots in the bin whose description names the AMI (the bin keeps no link from an AMI to them). */
      readonly snapshotIds: readonly string[];
      /** `versions/<v>` in this region, written again to name the AMI. */
      readonly parameterName: string;
      /** `revoked` while a restore step after it is still to un-revoke it; `published` for a version retired while good. */
      readonly status: 'published' | 'revoked';
      /**
       * With `status: 'revoked'`: the revocation, written back to `status/<v>` (retirement removed it) before
       * `versions/<v>` names the AMI again, so that resolve never hands the revoked version out in between.
       */
      readonly revoked?: { readonly reason: string; readonly at: string; readonly by: string; readonly replacement?: string };
      /** Who asked and why: tagged on the AMI (`gild:unbinned-by`, `-at`, `-reason`). */
      readonly by: string;
      readonly restoredReason: string;
    })
  /**
   * Mark a published version of another image built on the revoked `version` of `image` (its descendant): tag the
   * descendant's AMI in `region` `gild:base-revoked` (`tag`: the line of descent and the revoke's reason). Runs under
   * `image`'s lock, after the revoke is recorded; the descendant itself is not revoked (`revoke --cascade` does that).
   */
  | (StepCommon & {
      readonly kind: 'mark-descendant';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      readonly descendant: { readonly image: string; readonly version: string };
      readonly tag: string;
    })
  /**
   * Un-mark a descendant of a version `gild restore` brings back: delete `gild:base-revoked` from the descendant's AMI
   * in `region`, where it still says `tag` (the mark that names `version` of `image`) and no other version it is built
   * on is still revoked. Runs under `image`'s lock, after the restore is recorded in the ledger.
   */
  | (StepCommon & {
      readonly kind: 'unmark-descendant';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      readonly descendant: { readonly image: string; readonly version: string };
      readonly tag: string;
    })
  /**
   * Give another account (`distribution.accounts`) its own copy of a published version in one region: share the
   * building account's AMI there, copy it as the account's role, tag the copy. `source` is that AMI: the publish
   * step's output, or already known.
   */
  | (StepCommon & {
      readonly kind: 'distribute';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      readonly region: string;
      readonly source: { readonly from: string } | { readonly amiId: string };
      readonly kmsKeyId: string | undefined;
    })
  /** Smoke-test the copy in another account (`smoke` on its `distribution.accounts` entry) before it is published there. */
  | (StepCommon & {
      readonly kind: 'account-smoke';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      /** Where the test instance runs: the account's first region. */
      readonly region: string;
      /** Every region the copy is launched in, in parallel (`smoke.regions: 'all'`); left out, `region` only. */
      readonly regions?: readonly string[];
      readonly copies: Readonly<Record<string, { readonly from: string } | { readonly amiId: string }>>;
      /** Where to launch in that account; left out, its default VPC and no instance profile. */
      readonly launch: { readonly subnetId: string | undefined; readonly securityGroupIds: readonly string[]; readonly instanceProfile: string | undefined };
    })
  /** Write a version's parameters in another account, naming that account's copies; all or nothing, like `publish`. */
  | (StepCommon & {
      readonly kind: 'account-publish';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      /** Per region: the `distribute` step whose copy it is, or a copy already there. */
      readonly copies: Readonly<Record<string, { readonly from: string } | { readonly amiId: string }>>;
      readonly writes: readonly ParameterWrite[];
    })
  /**
   * Remove a copy in another account whose source version the building account retired: its `versions/<v>` there,
   * the copy and its snapshots, as the account's role. The copy is gild's (tagged `gild:image`, `gild:source-ami`).
   */
  | (StepCommon & {
      readonly kind: 'retire-copy';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      readonly region: string;
      readonly amiId: string;
      readonly snapshotIds: readonly string[];
      /** `versions/<v>` in that account and region, when it names the copy. */
      readonly parameterName: string | undefined;
      /**
       * The phase of its source's retirement the copy follows: `deprecate` or `disable` (stamped on the copy as on its
       * source; nothing is removed), or, absent, `deregister`.
       */
      readonly phase?: 'deprecate' | 'disable';
    })
  /**
   * A revoke followed in another account: the copy of the revoked version there, in one region, as the account's
   * role. `record` (after the building account recorded the revoke, before any pointer there moves) tags the copy
   * revoked with the reason, who, when and the replacement, and writes that account's `status/<v>`, so that its own
   * `gild resolve` refuses the version; `deprecate` (once no pointer there moved by the plan names it) deprecates it,
   * and disables it with `disable`. The version ledger is the building account's alone.
   */
  | (StepCommon & {
      readonly kind: 'account-revoke';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      readonly region: string;
      readonly amiId: string;
      readonly phase: 'record' | 'deprecate';
      readonly revokedReason: string;
      readonly disable: boolean;
      readonly by: string;
      readonly replacement?: string;
    })
  /** Move one pointer of another account (`latest`, `v<major>`, a channel) to that account's copy of `version`, all or nothing, as `repoint` does. */
  | (StepCommon & {
      readonly kind: 'account-repoint';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      readonly pointer: string;
      readonly moves: readonly PointerMove[];
    })
  /** A restore followed in another account: the copy's `status/<v>` there goes, it is re-enabled and un-deprecated, and tagged published again. */
  | (StepCommon & {
      readonly kind: 'account-restore';
      readonly image: string;
      readonly version: string;
      readonly account: string;
      readonly roleArn: string;
      readonly region: string;
      readonly amiId: string;
      readonly restoredReason: string;
      readonly by: string;
      readonly revoked: { readonly reason: string; readonly at: string; readonly by: string; readonly replacement?: string };
    })
  /**
   * Tell people (settings `notify`) about one version of an image: one event to one SNS topic or EventBridge bus, once
   * the steps it waits for are done (`notify`), or only when one of them failed (`notify-failure`, the `failed` event).
   * Best effort: a failure is in the report and never fails the image (its row's `failsImage`). See src/notify/.
   */
  | (StepCommon & NotifyFields & { readonly kind: 'notify' })
  | (StepCommon & NotifyFields & { readonly kind: 'notify-failure' })
  /** Write (`value`) or remove (no `value`) the hold a rollback puts on a pointer. */
  | (StepCommon & {
      readonly kind: 'hold';
      readonly image: string;
      readonly region: string;
      readonly parameterName: string;
      readonly value: string | undefined;
      readonly previous: string | undefined;
    });

/** Where a notification goes: an SNS topic, or an EventBridge bus in a region. */
export type NotifyTarget = { readonly kind: 'sns'; readonly topicArn: string } | { readonly kind: 'eventbridge'; readonly bus: string; readonly source: string; readonly region: string };

interface NotifyFields {
  readonly image: string;
  readonly event: NotifyEvent;
  /** The version the event is about (for `failed`, the one being built). */
  readonly version: string | undefined;
  readonly target: NotifyTarget;
  /** The image's regions. */
  readonly regions: readonly string[];
  /** Its AMIs per region: known, or the output of the step named (a publish; a build, if it got that far). */
  readonly amis: { readonly amis: Readonly<Record<string, string>> } | { readonly from: string };
  /** Why, in the words of the command or plan (a revoke's reason); a failure's own reason is added when it is sent. */
  readonly message: string;
  /** What else the event says (who, the replacement, the pointers moved, the retirement phase), by name. */
  readonly details: Readonly<Record<string, string>>;
  /**
   * `notify-failure`: the image's publish step, if the plan has one. Done when the failure is told, the version is
   * published and a later step (retire, protect, a distribution account's) failed: the failure says so.
   */
  readonly publishStep?: string | undefined;
}

export interface PointerMove {
  readonly region: string;
  readonly name: string;
  readonly amiId: string;
  /** The value observed when planning; the move re-checks it. */
  readonly previous: string | undefined;
}

export type PlanStepKind = PlanStep['kind'];

/** Whether `step` reads its AMIs from the output of step `id` (`amis: { from: id }`). */
export function takesAmisFrom(step: PlanStep, id: string): boolean {
  return 'amis' in step && typeof step.amis === 'object' && 'from' in step.amis && step.amis.from === id;
}
export type StepOfKind<K extends PlanStepKind> = Extract<PlanStep, { kind: K }>;

export interface ParameterWrite {
  readonly region: string;
  readonly name: string;
  /** `major` is `v<major>`; `channel` is `channels/<name>`. */
  readonly pointer: 'version' | 'latest' | 'major' | 'channel';
  /** The value observed before this run (undefined: the parameter does not exist). A write re-checks it. */
  readonly previous: string | undefined;
}

/** One line per image for people: what happens to it and why. */
export type ImageDecision =
  | { readonly image: string; readonly action: 'build'; readonly reason: string; readonly currentVersion: string | undefined; readonly nextVersion: string }
  | { readonly image: string; readonly action: 'resume'; readonly reason: string; readonly currentVersion: string | undefined; readonly nextVersion: string; readonly fromRunId: string }
  | { readonly image: string; readonly action: 'unchanged'; readonly reason: string; readonly currentVersion: string | undefined }
  /** A lifecycle command (promote, rollback, release) moves pointers or holds; nothing is built. */
  | { readonly image: string; readonly action: 'change'; readonly reason: string; readonly currentVersion: string | undefined }
  /** A publish that stopped halfway is completed: no build, only the missing parameters. */
  | { readonly image: string; readonly action: 'finish'; readonly reason: string; readonly currentVersion: string | undefined; readonly version: string }
  /** Another live run holds the image's lock: this run does nothing to it. */
  | { readonly image: string; readonly action: 'locked'; readonly reason: string; readonly currentVersion: string | undefined; readonly lease: Lease }
  /** `definition` errors stop the run with exit 2; `pipeline` errors fail the image (exit 1). */
  | { readonly image: string; readonly action: 'error'; readonly kind: 'definition' | 'pipeline'; readonly reason: string };

/** Something the plan looked at and deliberately leaves alone, with the reason (shown, never acted on). */
export interface KeptResource {
  readonly image: string;
  readonly region: string;
  readonly amiId: string;
  readonly version: string | undefined;
  readonly reason: string;
}

export interface RunPlan {
  readonly schema: typeof planSchemaVersion;
  readonly runId: string;
  readonly createdAt: string;
  readonly ssmPrefix: string;
  readonly options: { readonly force: boolean; readonly images: readonly string[] };
  /** A digest of what was observed per image, so a saved plan can tell whether the world moved. */
  readonly observed: { readonly at: string; readonly digests: Readonly<Record<string, string>> };
  readonly images: readonly ImageDecision[];
  readonly steps: readonly PlanStep[];
  readonly kept: readonly KeptResource[];
}
