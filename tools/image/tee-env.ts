import { execFileSync } from 'node:child_process';
import { ROOT } from '../build';

export const TEE_ENV_NAMES = ['APP_ENTRYPOINT', 'SCONE_HEAP', 'GRAMINE_ENCLAVE_SIZE', 'GRAMINE_MAX_THREADS'] as const;
export type TeeEnv = Record<(typeof TEE_ENV_NAMES)[number], string>;

/** tee.env as sconify.sh and Dockerfile.gramine see it: sourced by bash. */
export function readTeeEnv(): TeeEnv {
  const script = `source ./tee.env; printf '%s\\0' ${TEE_ENV_NAMES.map((n) => `"$${n}"`).join(' ')}`;
  const values = execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  return Object.fromEntries(TEE_ENV_NAMES.map((name, i) => [name, values[i] ?? ''])) as TeeEnv;
}
