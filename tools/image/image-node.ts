/**
 * The Node.js the image runs, for measuring on it here: Node's official linux-x64 build, fetched
 * once (integrity checked) by tools/image/podman-image.sh, the one place that pins it: the binary the TDX
 * image runs; the SCONE native image runs the same release built for Alpine (musl).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../build';

export function imageNode(): string {
  return execFileSync('bash', [join(ROOT, 'tools', 'image', 'podman-image.sh'), 'node'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
