/**
 * The lifecycle of one image, in order. The runner reads this table top to
 * bottom; a stage that fails stops the image, and nothing after it runs.
 */
import { buildStage } from './build.ts';
import { publishStage } from './publish.ts';
import { retireStage } from './retire.ts';
import { smokeTestStage } from './smoke-test.ts';
import type { Stage } from './stage.ts';
import { versionStage } from './version.ts';

export const lifecycle: readonly Stage[] = [buildStage, smokeTestStage, versionStage, publishStage, retireStage];
