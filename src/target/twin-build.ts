/**
 * What a build asks the target about container twins: whether the render adds one, and the environment Packer runs
 * with (its PATH starts with the `docker` that answered: src/local/container-engine.ts). On AWS there are no twins.
 */
import path from 'node:path';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { renderTwin, twinTag, type TwinRender } from './container-twins.ts';

export interface TwinBuild {
  readonly twin: TwinRender | undefined;
  /** The twin's local reference, when there is one. */
  readonly reference: string | undefined;
  readonly packerEnv: Readonly<Record<string, string | undefined>>;
}

export function twinBuildOf(context: Context, image: ResolvedImage, version: string): TwinBuild {
  const twins = context.target.twins;
  const containerImage = twins?.containerImages[image.name];
  if (!twins || !containerImage) return { twin: undefined, reference: undefined, packerEnv: context.env };
  return {
    twin: renderTwin(image, { containerImage, version, runId: context.runId }),
    reference: twinTag(image.name, version, context.runId).reference,
    packerEnv: { ...context.env, PATH: [twins.engine.dockerShimDir, context.env.PATH].filter(Boolean).join(path.delimiter) },
  };
}
