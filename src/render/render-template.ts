/**
 * Renders a ResolvedImage into a folder Packer can build:
 *
 *   <outDir>/image.pkr.hcl    source "amazon-ebs" "<image>", build, manifest post-processor
 *   <outDir>/plugins.pkr.hcl  required_plugins, only for Packer >= 1.7
 *
 * Rendering needs no Packer: the version comes in from the caller and the
 * output is laid out by formatHcl so it passes `packer fmt -check`.
 */
import Handlebars from 'handlebars';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { claimOutputFolder } from './claim-output-folder.ts';
import { amiNameProblem, packerTemplateBody, packerTemplateProblems } from './escape.ts';
import { freshReads, type FileReads } from './file-reads.ts';
import { formatHcl } from './format-hcl.ts';
import { gateSettings } from './gate-settings.ts';
import { registerHclHelpers } from './hcl.ts';
import { buildIdentityFileName } from './machine-identity.ts';
import { mergePackerSource } from './merge-packer-source.ts';
import { supportsRequiredPlugins, type PackerVersion } from './packer-capabilities.ts';
import { buildProvisioners } from './provisioners.ts';
import { buildSourceSettings } from './source-settings.ts';
import { attribute } from './hcl.ts';
import type { TwinRender } from '../target/container-twins.ts';
import type { PackerTarget } from '../target/target-profile.ts';

export interface RenderInput {
  /** e.g. `<cwd>/.gild/build/<image>/`: new, empty, or made by an earlier render (see claim-output-folder.ts). */
  readonly outDir: string;
  /** `<cwd>/templates` */
  readonly templatesDir: string;
  /** The source AMI in the build region, resolved by the planner. */
  readonly baseAmiId: string;
  /** `<image>-<version>-<timestamp>` */
  readonly amiName: string;
  /** The full AMI tag set (definition tags and gild:* tags), for the AMI and its snapshots in every region. */
  readonly tags: Readonly<Record<string, string>>;
  /** Tags for temporary build resources; include gild:run-id and gild:role=build. */
  readonly runTags: Readonly<Record<string, string>>;
  readonly packer: PackerVersion;
  /** What the account Packer builds in offers, asked of the target profile (src/target/); absent: AWS as it is. */
  readonly target?: PackerTarget;
  /**
   * A container twin next to the amazon source (src/target/container-twins.ts), asked of the target profile: the same
   * provisioners run in it. Where nothing can connect to the build instance, they run only there (`only`).
   */
  readonly twin?: TwinRender;
  readonly logger?: { info(message: string): void; warn(message: string): void };
  /** The clock deprecate_at counts from; defaults to now. */
  readonly now?: Date;
  /** Packer's temporary key pair, named so that a sweep can find a leftover one: `gild_<runId>_<image>`. */
  readonly keyPairName?: string;
  /** A security group gild made for this build, so that Packer creates none. */
  readonly securityGroupId?: string;
  /** How the template folder is read: afresh (the default), or once for a set of renders (src/render/file-reads.ts). */
  readonly reads?: FileReads;
}

export interface RenderedImage {
  readonly dir: string;
  /** Absolute paths of the files written. */
  readonly files: string[];
}

export const imageFileName = 'image.pkr.hcl';
export const pluginsFileName = 'plugins.pkr.hcl';
export const manifestFileName = 'manifest.json';
/** What a render may replace in its folder: its own files and the manifest Packer writes there. */
const renderedFileNames = [imageFileName, pluginsFileName, manifestFileName, buildIdentityFileName];

const defaultTemplate = 'amazon-ebs.pkr.hcl.hbs';
const pluginsTemplate = 'plugins.pkr.hcl.hbs';
export const partialSuffix = '.pkr.hcl.hbs';
export const windowsUserDataFile = path.join('user-data', 'enable-winrm.ps1');

async function readOrNull(file: string, reads: FileReads): Promise<string | null> {
  try {
    return await reads.readText(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

interface TemplateEnvironment {
  readonly handlebars: typeof Handlebars;
  /** Compiled templates by their source. */
  readonly templates: Map<string, HandlebarsTemplateDelegate>;
}

/**
 * One Handlebars environment per set of partials, keyed by their names and content. NOTE: not one per render: a
 * fleet fingerprints every image before planning, and compiling the same template again for each image was most of
 * that time. Nothing leaks between images: a render registers no helper or partial, and an edited partial makes a new
 * environment.
 */
const environments = new Map<string, TemplateEnvironment>();

async function createEnvironment(templatesDir: string, reads: FileReads): Promise<TemplateEnvironment> {
  const partialsDir = path.join(templatesDir, 'partials');
  const names = (await reads.readdir(partialsDir).catch(() => [] as string[])).filter((name) => name.endsWith(partialSuffix)).sort();
  const partials = await Promise.all(names.map(async (name) => [name.slice(0, -partialSuffix.length), await reads.readText(path.join(partialsDir, name))] as const));
  const key = JSON.stringify(partials);
  const known = environments.get(key);
  if (known) return known;
  const handlebars = Handlebars.create();
  registerHclHelpers(handlebars);
  for (const [name, source] of partials) handlebars.registerPartial(name, source);
  const environment = { handlebars, templates: new Map<string, HandlebarsTemplateDelegate>() };
  environments.set(key, environment);
  return environment;
}

/** What every template is given; a template that names anything else fails with this list. */
const templateFields = ['image', 'source', 'provisioners', 'partial', 'sourceRef', 'manifestFile', 'twin'];

/**
 * Renders one template. Strict, so a misspelt or missing field fails the render
 * naming the template and the line instead of rendering an empty string into HCL;
 * `{{#if field}}` still guards a field that may be absent.
 */
function renderTemplate({ handlebars, templates }: TemplateEnvironment, source: string, where: { imageFile: string; templateFile: string }, values: object): string {
  // NOTE: noEscape, because HTML escaping would corrupt HCL; every value is escaped for HCL by the helpers instead.
  const template = templates.get(source) ?? handlebars.compile(source, { noEscape: true, strict: true });
  templates.set(source, template);
  try {
    return template(values);
  } catch (error) {
    if (!(error instanceof handlebars.Exception)) throw error;
    const { lineNumber, column } = error as { lineNumber?: number; column?: number };
    const what = error.message.replace(/ not defined in \[object Object\]/, ' is not defined').replace(/ - \d+:\d+$/, '');
    const problem = lineNumber === undefined ? what : `line ${lineNumber}, column ${(column ?? 0) + 1}: ${what}`;
    throw catalogue.EDEFINITIONS([
      `${where.imageFile}: template ${where.templateFile} (or a partial it includes): ${problem}. A template is given ${templateFields.join(', ')}; fix the name, or guard a field that may be absent with {{#if …}}.`,
    ]);
  }
}

/** The template file an image renders with: its own, else templates/amazon-ebs.pkr.hcl.hbs. */
export function templateFileOf(image: ResolvedImage, templatesDir: string): string {
  return image.template ?? path.join(templatesDir, defaultTemplate);
}

async function loadImageTemplate(image: ResolvedImage, templatesDir: string, reads: FileReads): Promise<string> {
  const templateFile = templateFileOf(image, templatesDir);
  if ((await reads.stat(templateFile).catch(() => undefined))?.isDirectory()) {
    throw catalogue.EDEFINITIONS([`${image.file}: template: ${templateFile} is a folder. Name a template file inside templates/, e.g. "hardened.pkr.hcl.hbs".`]);
  }
  const source = await readOrNull(templateFile, reads);
  if (source !== null) return source;
  const problem = image.template
    ? `${image.file}: template: ${templateFile} does not exist. Put the template in templates/ or remove the field to use templates/${defaultTemplate}.`
    : `${image.file}: the default template ${templateFile} does not exist. Restore templates/${defaultTemplate}.`;
  throw catalogue.EDEFINITIONS([problem]);
}

function checkPartial(image: ResolvedImage, handlebars: typeof Handlebars): void {
  if (image.partial === undefined || handlebars.partials[image.partial] !== undefined) return;
  const known = Object.keys(handlebars.partials).join(', ') || '(none)';
  throw catalogue.EDEFINITIONS([`${image.file}: partial: there is no templates/partials/${image.partial}${partialSuffix}. Known partials: ${known}.`]);
}

/** The rendered folder's files, in memory: what renderImage writes, and what fingerprintImage hashes. */
export interface RenderedFiles {
  readonly dir: string;
  readonly files: readonly { readonly name: string; readonly content: string; readonly executable?: boolean }[];
  /** Files outside the folder that the rendering read or that the build reads: template, partial, user data, scripts, uploads. */
  readonly inputs: readonly string[];
}

/**
 * `gild:patched-at` on the AMI and its snapshots when the patch step runs in this build: the build's own time
 * (`gild:built-at`), since the patch step runs during it. NOTE: not part of the fingerprint (like gild:built-at), so
 * a resumed build still matches; without gild:built-at (a render for `gild render` or the fingerprint) there is no
 * build time to state, and no tag.
 */
function withPatchedAt(image: ResolvedImage, input: RenderInput): Readonly<Record<string, string>> {
  const builtAt = input.tags['gild:built-at'];
  if (!image.patch.enabled || input.target?.unreachableInstances || builtAt === undefined) return input.tags;
  return { ...input.tags, 'gild:patched-at': builtAt };
}

export async function renderImageFiles(image: ResolvedImage, input: RenderInput): Promise<RenderedFiles> {
  const nameProblem = amiNameProblem(input.amiName);
  if (nameProblem) throw catalogue.EDEFINITIONS([`${image.file}: name and version make the AMI name ${nameProblem}. Shorten the image name.`]);
  const reads = input.reads ?? freshReads;
  const environment = await createEnvironment(input.templatesDir, reads);
  checkPartial(image, environment.handlebars);
  const userDataFile = path.join(input.templatesDir, windowsUserDataFile);
  const windowsUserData = image.platform === 'windows' ? ((await readOrNull(userDataFile, reads)) ?? '') : '';

  const settings = buildSourceSettings(image, {
    baseAmiId: input.baseAmiId,
    amiName: input.amiName,
    tags: withPatchedAt(image, input),
    runTags: input.runTags,
    ec2Endpoint: input.target?.ec2Endpoint,
    instancesUnreachable: input.target?.unreachableInstances !== undefined,
    windowsUserData,
    now: input.now ?? new Date(),
    keyPairName: input.keyPairName,
    securityGroupId: input.securityGroupId,
  });
  const merged = mergePackerSource(image, settings);
  if (merged.problems.length > 0) throw catalogue.EDEFINITIONS(merged.problems);
  const gated = gateSettings(image, merged.body, input.packer);
  if (gated.refusals.length > 0)
    throw catalogue.EUSAGE([`Image "${image.name}" cannot be built with Packer ${input.packer.major}.${input.packer.minor}.${input.packer.patch}:`, ...gated.refusals].join('\n'));
  for (const warning of gated.warnings) input.logger?.warn(warning);

  const outDir = path.resolve(input.outDir);
  const { provisioners, scripts } = provisionersFor(image, outDir, input);
  const unreachable = input.target?.unreachableInstances;
  if (unreachable && !input.twin && image.provision.length > 0) {
    input.logger?.info(`Left out the ${image.provision.length} provisioner${image.provision.length === 1 ? '' : 's'} of image "${image.name}": ${unreachable}, and the image has no container twin.`);
  }
  const gildSteps = [...(image.patch.enabled ? ['patch'] : []), ...(image.generalize.kind === 'on' ? ['generalize'] : [])];
  if (unreachable && !input.twin && gildSteps.length > 0) {
    input.logger?.info(
      `Left out gild's ${gildSteps.join(' and ')} step${gildSteps.length === 1 ? '' : 's'} of image "${image.name}": ${unreachable}, so the AMI is not ${gildSteps.map((step) => (step === 'patch' ? 'patched' : 'generalized')).join(' or ')} there.`,
    );
  }
  // NOTE: Packer evaluates every string of the source and the provisioners as a Go template; see escape.ts.
  const templateProblems = [
    ...packerTemplateProblems(gated.body, 'source.'),
    ...provisioners.flatMap((provisioner, index) => packerTemplateProblems(provisioner.body, `provisioner[${index}] (${provisioner.type}).`)),
  ];
  if (templateProblems.length > 0) throw catalogue.EDEFINITIONS(templateProblems.map((problem) => `${image.file}: rendered ${problem}.`));
  const templateFile = templateFileOf(image, input.templatesDir);
  const imageHcl = renderTemplate(
    environment,
    await loadImageTemplate(image, input.templatesDir, reads),
    { imageFile: image.file, templateFile },
    {
      image,
      source: packerTemplateBody(gated.body),
      provisioners: provisioners.map((provisioner) => ({ ...provisioner, body: packerTemplateBody(provisioner.body) })),
      partial: image.partial,
      sourceRef: `source.amazon-ebs.${image.name}`,
      manifestFile: path.join(outDir, manifestFileName),
      twin: input.twin ? { ...input.twin, sourceRef: `source.${input.twin.sourceType}.${input.twin.sourceName}` } : undefined,
    },
  );

  const files: { name: string; content: string; executable?: boolean }[] = [{ name: imageFileName, content: formatHcl(imageHcl) }];
  const inputs = [templateFile];
  if (image.partial !== undefined) inputs.push(path.join(input.templatesDir, 'partials', `${image.partial}${partialSuffix}`));
  if (image.platform === 'windows' && !unreachable) inputs.push(userDataFile);
  if (supportsRequiredPlugins(input.packer)) {
    const pluginsTemplateFile = path.join(input.templatesDir, pluginsTemplate);
    files.push({
      name: pluginsFileName,
      content: formatHcl(renderTemplate(environment, await reads.readText(pluginsTemplateFile), { imageFile: image.file, templateFile: pluginsTemplateFile }, {})),
    });
    inputs.push(pluginsTemplateFile);
  }
  files.push(...scripts.map((script) => ({ name: script.name, content: script.content, executable: true })));
  if (!unreachable || input.twin)
    for (const step of image.provision)
      if (step.kind === 'script') inputs.push(step.path);
      else if (step.kind === 'upload') inputs.push(step.source);
  return { dir: outDir, files, inputs };
}

/**
 * The provisioners: none without a twin where nothing can connect to the build instance (a provisioner would wait
 * forever for a connection); with a twin, the twin's setup first, then the image's own, each restricted to the twin
 * there so the amazon source (communicator "none") skips them.
 */
function provisionersFor(image: ResolvedImage, outDir: string, input: RenderInput): ReturnType<typeof buildProvisioners> {
  const unreachable = input.target?.unreachableInstances !== undefined;
  if (unreachable && !input.twin) return { provisioners: [], scripts: [] };
  const built = buildProvisioners(image, outDir);
  if (!input.twin) return built;
  const only = unreachable ? [attribute('only', [input.twin.only])] : [];
  return { provisioners: [input.twin.setupProvisioner, ...built.provisioners.map((provisioner) => ({ ...provisioner, body: [...only, ...provisioner.body] }))], scripts: built.scripts };
}

export async function renderImage(image: ResolvedImage, input: RenderInput): Promise<RenderedImage> {
  const rendered = await renderImageFiles(image, input);
  await claimOutputFolder(rendered.dir, [...renderedFileNames, ...rendered.files.map((file) => file.name)]);
  for (const file of rendered.files) await writeFile(path.join(rendered.dir, file.name), file.content, file.executable ? { mode: 0o755 } : {});
  return { dir: rendered.dir, files: rendered.files.filter((file) => !file.executable).map((file) => path.join(rendered.dir, file.name)) };
}
