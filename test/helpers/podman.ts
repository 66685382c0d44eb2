import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../tools/build';

/** The one script that builds the image and runs podman on the project's own store. */
export const PODMAN_IMAGE = join(ROOT, 'tools', 'image', 'podman-image.sh');

/** A name image.env defines, as the scripts source it. */
const imageEnv = (name: string) => spawnSync('bash', ['-c', `source ./image.env && printf %s "$${name}"`], { cwd: ROOT, encoding: 'utf8' }).stdout;

/** The TDX image (Dockerfile) and the native image SCONE sconifies (Dockerfile.scone). */
export const APP_IMAGE = imageEnv('APP_IMAGE');
export const SCONE_NATIVE_IMAGE = imageEnv('SCONE_NATIVE_IMAGE');

export type Target = 'tdx' | 'scone';
export const TARGET_IMAGES: Record<Target, string> = { tdx: APP_IMAGE, scone: SCONE_NATIVE_IMAGE };

/** Why podman cannot run here, or undefined when it can (podman and runc on PATH). */
export function podmanMissing(): string | undefined {
  const missing = ['podman', 'runc'].filter((tool) => spawnSync('bash', ['-c', `command -v ${tool}`]).status !== 0);
  return missing.length > 0 ? `${missing.join(' and ')} not installed (Debian: apt-get install podman runc mmdebstrap)` : undefined;
}

export interface Completed {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking the event loop (a test's counter server answers the
 * container from this process). `env` is added to this process's environment.
 */
export function runAsync(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `tools/image/podman-image.sh ARGS`, e.g. ['podman', 'run', ...] on the project's store. */
export const podmanImage = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Completed> => runAsync('bash', [PODMAN_IMAGE, ...args], env);
