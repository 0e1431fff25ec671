/**
 * Container twins (docs/emulator.md "Container twins"): on the emulator, and in `gild test`, an image's Packer template gets a
 * second source next to the amazon one, Packer's docker builder, running the same provisioner blocks in a container
 * of the image's OS, committed as a local image tagged with the image, version and run. The smoke checks then run for
 * real in fresh containers of that twin. This file decides which images have a twin and what the render adds; it
 * is pure: which container images exist locally is asked by the caller (src/local/container-engine.ts).
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { attribute, type HclBody } from '../render/hcl.ts';

/** The container image of each OS preset's userland. Presets not listed (FreeBSD, Windows) have no twin. */
export const presetContainerImages: Readonly<Record<string, string>> = {
  'amazon-linux-2023': 'amazonlinux:2023',
  'amazon-linux-2': 'amazonlinux:2',
  'ubuntu-22.04': 'ubuntu:22.04',
  'ubuntu-24.04': 'ubuntu:24.04',
  'debian-12': 'debian:12',
  'rhel-9': 'registry.access.redhat.com/ubi9/ubi',
  'oracle-linux-9': 'oraclelinux:9',
  fedora: 'fedora:latest',
  'sles-15': 'registry.suse.com/bci/bci-base:15.6',
};

/** The container twins a target builds (src/local/prepare-twins.ts finds them): the engine, and each image's twin base. */
export interface ContainerTwins {
  readonly engine: { readonly kind: 'docker' | 'podman'; readonly binary: string; readonly dockerShimDir: string };
  /** The container image each image's twin starts from, by image name; images without a twin are absent. */
  readonly containerImages: Readonly<Record<string, string>>;
  /** Images whose twin starts from their base's twin (a gild image built on another), by image name → base image name. */
  readonly fromBaseTwin?: Readonly<Record<string, string>>;
}

/** Where the twin's container image comes from, or why there is none: said in the log either way. */
export type TwinBase = { readonly kind: 'container'; readonly containerImage: string } | { readonly kind: 'none'; readonly reason: string };

/** The container image an image's twin starts from, before asking whether it is present locally. */
export function twinBaseOf(image: ResolvedImage): TwinBase {
  if (image.platform === 'windows') return { kind: 'none', reason: 'a Windows image has no container twin' };
  if (image.containerImage) return { kind: 'container', containerImage: image.containerImage };
  if (image.base.kind === 'image') return { kind: 'none', reason: `it is built on the gild image "${image.base.image}"; name its container with containerImage to give it a twin` };
  const fromPreset = image.preset ? presetContainerImages[image.preset] : undefined;
  if (!fromPreset)
    return { kind: 'none', reason: image.preset ? `the OS preset "${image.preset}" has no container image` : 'its base is not an OS preset; name its container with containerImage to give it a twin' };
  return { kind: 'container', containerImage: fromPreset };
}

/** The local tag of a twin: one per image, version and run, so a run never tests another run's twin. */
export function twinTag(imageName: string, version: string, runId: string): { readonly repository: string; readonly tag: string; readonly reference: string } {
  const repository = `localhost/gild-twin/${imageName}`;
  const tag = `${version}-${runId}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
  return { repository, tag, reference: `${repository}:${tag}` };
}

/** What the render adds for a twin: the docker source, a twin-only first provisioner, and the tagging post-processor. */
export interface TwinRender {
  readonly sourceType: 'docker';
  readonly sourceName: string;
  readonly sourceBody: HclBody;
  /** `docker.<name>`, for provisioners' and post-processors' `only`. */
  readonly only: string;
  /** Runs first, in the twin only: makes provisioning written for the instance (its login user, sudo) run unchanged. */
  readonly setupProvisioner: { readonly type: 'shell'; readonly body: HclBody };
  readonly postProcessor: { readonly type: 'docker-tag'; readonly body: HclBody };
}

/**
 * A minbase root has no sudo, and Packer's docker communicator runs as root: a `sudo` that drops its own options and
 * runs the command as root stands in, in the twin only, and the preset's login user exists with a home, so scripts
 * that write there work. Nothing is installed when the container already has sudo.
 */
export function twinSetupCommands(loginUser: string): string[] {
  const shim = [
    '#!/bin/sh',
    '# gild twin: root already; drop sudo options, run the command (with VAR=value assignments, as sudo takes them)',
    'while [ $# -gt 0 ]; do case "$1" in -u|-g|-C|-h|-p|-r|-t|-U) shift 2 ;; --) shift; break ;; -*) shift ;; *) break ;; esac; done',
    'exec env "$@"',
  ];
  return [
    `if ! command -v sudo >/dev/null 2>&1; then printf '%s\\n' ${shim.map((line) => `'${line.replace(/'/g, `'\\''`)}'`).join(' ')} > /usr/local/bin/sudo && chmod 0755 /usr/local/bin/sudo; fi`,
    `if ! id ${loginUser} >/dev/null 2>&1 && command -v useradd >/dev/null 2>&1; then useradd -m ${loginUser}; fi`,
  ];
}

export function renderTwin(image: ResolvedImage, input: { readonly containerImage: string; readonly version: string; readonly runId: string }): TwinRender {
  const { repository, tag } = twinTag(image.name, input.version, input.runId);
  const sourceName = image.name;
  return {
    sourceType: 'docker',
    sourceName,
    sourceBody: [
      attribute('image', input.containerImage),
      attribute('commit', true),
      // NOTE: never pulled: no container registry may be reachable, and a twin from an image fetched behind the
      // user's back would not be the one the log names.
      attribute('pull', false),
      attribute('changes', [`LABEL gild.image=${image.name}`, `LABEL gild.version=${input.version}`, `LABEL gild.run-id=${input.runId}`]),
    ],
    only: `docker.${sourceName}`,
    setupProvisioner: { type: 'shell', body: [attribute('only', [`docker.${sourceName}`]), attribute('inline', twinSetupCommands(image.buildInfrastructure.sshUsername))] },
    postProcessor: { type: 'docker-tag', body: [attribute('only', [`docker.${sourceName}`]), attribute('repository', repository), attribute('tags', [tag])] },
  };
}
