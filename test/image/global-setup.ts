import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../../tools/build';
import { podmanImage, podmanMissing, type Target } from '../helpers/podman';

/** Either what was made, or why it could not be (the tests that need it skip and say so). */
export type Made = { value: string; skipped?: undefined } | { value?: undefined; skipped: string };

declare module 'vitest' {
  export interface ProvidedContext {
    /** The TDX image (Dockerfile) and the SCONE native image (Dockerfile.scone), each built once per run, unmodified. */
    images: Record<Target, Made>;
    /** The time the images were built at (SOURCE_DATE_EPOCH): the last commit's when the run began. */
    sourceDateEpoch: string;
    /** The Node the image runs (22.14), for the end-to-end tests of the bundle (test/image/node-setup.ts). */
    imageNode: Made;
  }
}

/**
 * Absence of podman (or of the registry, for Node) skips the tests that need them, with the
 * reason printed; under CI=true it fails the run: CI installs them and must never skip.
 */
export function absent(what: string, reason: string): Made {
  if (process.env.CI === 'true') throw new Error(`CI=true and ${what} is unavailable: ${reason}`);
  console.warn(`SKIPPED: tests of ${what}: ${reason}`);
  return { skipped: reason };
}

async function make(args: string[], what: string, env: NodeJS.ProcessEnv): Promise<Made> {
  const run = await podmanImage(args, env);
  if (run.code !== 0) throw new Error(`tools/image/podman-image.sh ${args.join(' ')} failed (${what}):\n${run.stderr}`);
  return { value: run.stdout.trim() };
}

export default async function setup(project: TestProject): Promise<void> {
  const missing = podmanMissing();
  // Read once: a commit made while the tests run must not change the time a rebuild uses.
  const sourceDateEpoch = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim();
  // One after the other: both start from the same stand-ins, made by the first.
  const images = {} as Record<Target, Made>;
  for (const target of ['tdx', 'scone'] as const) {
    images[target] = missing === undefined ? await make(['build', target], `the ${target} image`, { SOURCE_DATE_EPOCH: sourceDateEpoch }) : absent(`the ${target} image`, missing);
  }
  project.provide('images', images);
  project.provide('sourceDateEpoch', sourceDateEpoch);
}
