import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../tools/build';

export type Generation = 'v8' | 'v9';

interface Network {
  /** The secret service this network's pool asks for the app's secret. */
  sms: string;
  /** The workerpool the README runs on. */
  pool: string;
}

export interface Target {
  /** The iExec SDK generation that checks this target (npm iexec@8 or iexec@9). */
  sdk: Generation;
  /** The TEE framework of the SMS (SDK 8 keeps one SMS per framework; SDK 9 has TDX only). */
  framework: 'scone' | 'gramine' | 'tdx';
  tag: string;
  /** chain.json's default chain first. */
  networks: Record<string, Network>;
}

/**
 * The four deploy targets: which SMS belongs with which pool (iExec's documentation and iapp CLI
 * configurations; see the README's deploy sections). deploy/<name>/ holds each one's iexec.json and
 * chain.json, and the tests check that the SDK resolves those files to these pairs.
 */
export const TARGETS: Record<string, Target> = {
  tdx: {
    sdk: 'v9',
    framework: 'tdx',
    tag: 'tee,tdx',
    networks: {
      'arbitrum-sepolia-testnet': { sms: 'https://sms.arbitrum-sepolia-testnet.iex.ec', pool: '0x2956f0cb779904795a5f30d3b3ea88b714c3123f' },
      'arbitrum-mainnet': { sms: 'https://sms.arbitrum-mainnet.iex.ec', pool: '0x8ef2ec3ef9535d4b4349bfec7d8b31a580e60244' },
    },
  },
  'scone-debug': {
    sdk: 'v8',
    framework: 'scone',
    tag: 'tee,scone',
    networks: { bellecour: { sms: 'https://sms.scone-debug.v8-bellecour.iex.ec', pool: 'debug-v8-learn.main.pools.iexec.eth' } },
  },
  'scone-production': {
    sdk: 'v8',
    framework: 'scone',
    tag: 'tee,scone',
    networks: { bellecour: { sms: 'https://sms.iex.ec', pool: 'prod-v8-bellecour.main.pools.iexec.eth' } },
  },
  gramine: {
    sdk: 'v8',
    framework: 'gramine',
    tag: 'tee,gramine',
    networks: { bellecour: { sms: 'https://sms.gramine.v8-bellecour.iex.ec', pool: 'debug-v8-bellecour.main.pools.iexec.eth' } },
  },
};

export const targetDir = (name: string) => join(ROOT, 'deploy', name);

/** deploy/<name>/<file> parsed. */
export const targetJson = (name: string, file: 'iexec.json' | 'chain.json') =>
  JSON.parse(readFileSync(join(targetDir(name), file), 'utf8'));
