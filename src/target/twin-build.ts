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
  /** Where the twin starts from, or why there is none, for the log. */
  readonly note: string | undefined;
  readonly packerEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * `builtBase`: the base this build starts from, when it is a gild image this process built in this run. An image
 * built on another gild image gets a twin only then: its twin starts from the base's twin, which this run committed
 * (`twinTag(base, version, runId)`), so what runs in the twin is the base's provisioning and then its own, as on the
 * instance.
 */
export function twinBuildOf(context: Context, image: ResolvedImage, version: string, builtBase?: { readonly image: string; readonly version: string }): TwinBuild {
  const twins = context.target.twins;
  const baseName = twins?.fromBaseTwin?.[image.name];
  if (twins && baseName !== undefined && builtBase?.image !== baseName) {
    return {
      twin: undefined,
      reference: undefined,
      note: `twin: ${image.name} has no container twin in this build: its base "${baseName}" was not built by this run, and a twin lives only in the run that built it`,
      packerEnv: context.env,
    };
  }
  const containerImage = baseName !== undefined && builtBase ? twinTag(builtBase.image, builtBase.version, context.runId).reference : twins?.containerImages[image.name];
  if (!twins || !containerImage) return { twin: undefined, reference: undefined, note: undefined, packerEnv: context.env };
  const reference = twinTag(image.name, version, context.runId).reference;
  return {
    twin: renderTwin(image, { containerImage, version, runId: context.runId }),
    reference,
    note: `twin: the provisioners run in a container twin from ${baseName !== undefined ? `the twin of its base "${baseName}" (${containerImage})` : containerImage}, committed as ${reference}`,
    packerEnv: { ...context.env, PATH: [twins.engine.dockerShimDir, context.env.PATH].filter(Boolean).join(path.delimiter) },
  };
}
