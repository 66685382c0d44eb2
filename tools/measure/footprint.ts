/**
 * What a process maps and runs at its peak, read from /proc by a --require preload at exit:
 * peak virtual size, peak resident size, threads, file-backed mappings. Linux only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROBE = `process.on('exit', () => {
  const fs = require('node:fs');
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number(new RegExp('^' + name + ':\\\\s+(\\\\d+)', 'm').exec(status)[1]);
  let fileBackedKb = 0;
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').trim().split('\\n')) {
    const [range, , , , inode] = line.split(/\\s+/);
    const [start, end] = range.split('-').map((x) => BigInt('0x' + x));
    if (inode !== '0') fileBackedKb += Number((end - start) / 1024n);
  }
  fs.writeFileSync(process.env.FOOTPRINT_OUT, JSON.stringify({
    vmPeakKb: field('VmPeak'), vmHwmKb: field('VmHWM'), threads: field('Threads'), fileBackedKb,
  }));
});`;

export interface Footprint {
  vmPeakKb: number;
  vmHwmKb: number;
  /** Threads alive at exit: Node ends none of its threads before that, so all it started. */
  threads: number;
  fileBackedKb: number;
}

/** Runs `node [args…]` (the probe preloaded before args) in cwd with env; fails unless it exits 0. */
export async function measureFootprint(node: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Footprint> {
  const dir = mkdtempSync(join(tmpdir(), 'footprint-'));
  const [probe, result] = [join(dir, 'probe.cjs'), join(dir, 'result.json')];
  writeFileSync(probe, PROBE);
  try {
    const code = await new Promise<number | null>((resolve) => {
      spawn(node, ['--require', probe, ...args], { cwd, env: { ...env, FOOTPRINT_OUT: result }, stdio: 'ignore' }).on('close', resolve);
    });
    if (code !== 0) throw new Error(`${node} ${args.join(' ')} failed (exit ${code})`);
    return JSON.parse(readFileSync(result, 'utf8')) as Footprint;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
