/**
 * The typed plan. Planning is pure: definitions plus what AWS holds now go in,
 * this comes out. Stages carry it out and `--dry-run` prints it. Anything
 * destructive gild does is listed here first, with the reason.
 */
export interface PublishedVersion {
  readonly version: string;
  /** AMI per region, from `<prefix>/<image>/versions/<version>`. */
  readonly amis: Readonly<Record<string, string>>;
}

export type BasePlan =
  | { readonly kind: 'resolved'; readonly amiId: string; readonly source: string }
  /** Built on another gild image in this run: resolved once that image publishes. */
  | { readonly kind: 'after-dependency'; readonly image: string; readonly source: string };

export type ImagePlan =
  | {
      readonly image: string;
      readonly action: 'build';
      readonly reason: string;
      readonly base: BasePlan;
      readonly fingerprint: string;
      readonly currentVersion: string | undefined;
      readonly nextVersion: string;
      /** Parameters written on publish, per region; `latest` comes last. */
      readonly parameters: readonly { readonly region: string; readonly name: string }[];
      readonly retirements: readonly RetirementAction[];
    }
  | { readonly image: string; readonly action: 'skip'; readonly reason: string; readonly currentVersion: string | undefined }
  /** `definition` errors (e.g. a version older than published) stop the run with exit code 2; others fail the image. */
  | { readonly image: string; readonly action: 'error'; readonly kind: 'definition' | 'pipeline'; readonly reason: string };

export type RetirementAction =
  | {
      readonly action: 'retire';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      readonly snapshotIds: readonly string[];
      readonly parameterName: string;
      readonly reason: string;
    }
  | {
      readonly action: 'keep';
      readonly image: string;
      readonly version: string;
      readonly region: string;
      readonly amiId: string;
      readonly reason: string;
    };

export interface RunPlan {
  readonly runId: string;
  readonly images: readonly ImagePlan[];
}
