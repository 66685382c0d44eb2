/**
 * The app as the image runs it, on this machine: tee.env's entrypoint (its node flags, the app
 * file alone in a folder) with app.js carrying the code cache that the given node made, as the
 * image build makes it with the image's node (tools/image/code-cache.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TARGET, type BundleTarget } from '../build';
import { SEED_FLAG } from './code-cache-probe';
import { readTeeEnv } from './tee-env';

/**
 * Every enclave start reads (and SCONE or Gramine measures) app.js whole: the bundle, its code
 * cache (about twice the bundle) and its base64 overhead. CI fails past this size.
 */
export const IMAGE_APP_BUDGET_BYTES = 512 * 1024;

export interface ImageApp {
  /** The folder that stands for the image's /app: app.js alone. */
  dir: string;
  node: string;
  /** The node arguments of the entrypoint, the app file included. */
  args: string[];
}

/**
 * The entrypoint's node flags, less those this node does not know (Node 20 has no
 * --disable-sigusr1): what the same command line is on an older node.
 */
export function entrypointFlags(node = process.execPath): string[] {
  let flags = flagsOf.get(node);
  if (flags === undefined) {
    const [, ...words] = readTeeEnv().APP_ENTRYPOINT.split(' ');
    flags = words.slice(0, -1).filter((flag) => knownTo(node, flag));
    flagsOf.set(node, flags);
  }
  return flags;
}
const flagsOf = new Map<string, string[]>();

/** Whether `node` accepts this command-line flag. */
export const knownTo = (node: string, flag: string): boolean => !flag.startsWith('-') || spawnSync(node, [flag, '-e', '0'], { stdio: 'ignore' }).status === 0;

/** Makes app.js alone in a fresh folder: the bundle with `node`'s code cache (bundle built beforehand). */
export function installImageApp(target: BundleTarget = DEFAULT_TARGET, node = process.execPath): ImageApp {
  const dir = mkdtempSync(join(tmpdir(), 'app-'));
  const flags = entrypointFlags(node);
  execFileSync(node, [...flags, SEED_FLAG, target.codeCacheTool, target.outfile, join(dir, 'app.js')], { stdio: 'ignore', env: { PATH: process.env.PATH } });
  return { dir, node, args: [...flags, join(dir, 'app.js')] };
}
