/**
 * npm run pack-secret: builds the one value to push as the app developer secret, validated by the
 * very code the app runs, and keeps a local backup (a pushed secret can never be read back).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_ENDPOINT, unpackCounterSecret } from '../src/app/secret';
import { AppError } from '../src/errors';
import { readDeveloperSecret } from '../src/iexec/secret';
import { parseOptions } from './cli';

const DEFAULT_BACKUP = '.secrets/app-developer-secret.json';

const HELP = `Usage: npm run pack-secret -- [--namespace NS] [--key KEY] [--endpoint URL] [--token TOKEN]
                                [--backup PATH] [--force]
       npm run pack-secret -- --check FILE

Packs the secret's fields into the one value iExec stores for the app, checks it with the
app's own parser (and the 4096-byte limit), prints it with the command that pushes it, and
writes a backup (mode 0600, ${DEFAULT_BACKUP} by default). Missing fields are asked for;
the token is typed without echo (prefer that to --token, which stays in shell history).

  --check FILE   validate an existing packed secret; names bad fields, never prints values
  --force        overwrite an existing backup
  -h, --help     this text

Exit code: 0 when the secret is valid (and backed up), 1 when it is not, 2 on bad usage.`;

/** Validates as the app will, inside the enclave: same size limit, same schema. */
function validate(packed: string) {
  return unpackCounterSecret(readDeveloperSecret({ IEXEC_APP_DEVELOPER_SECRET: packed }));
}

// One line reader for every question: piped answers arrive before the questions are asked,
// and an iterator keeps them until they are read.
let lines: { reader: ReturnType<typeof createInterface>; next: AsyncIterator<string> } | undefined;

/** One line of input; from a terminal and `hidden`, typed without echo. */
async function ask(question: string, hidden = false): Promise<string> {
  if (!hidden || !process.stdin.isTTY) {
    process.stdout.write(question);
    if (lines === undefined) {
      const reader = createInterface({ input: process.stdin });
      lines = { reader, next: reader[Symbol.asyncIterator]() };
    }
    const line = await lines.next.next();
    return line.done ? '' : line.value.trim();
  }
  lines?.reader.close();
  lines = undefined;
  process.stdout.write(question);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  return new Promise((resolve) => {
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\u0003') process.exit(130);
        if (char === '\r' || char === '\n') {
          process.stdin.off('data', onData);
          process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdout.write('\n');
          return resolve(value);
        }
        value = char === '\u007f' ? value.slice(0, -1) : value + char;
      }
    };
    process.stdin.on('data', onData);
  });
}

const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

function check(file: string): number {
  let packed: string;
  try {
    packed = readFileSync(file, 'utf8');
  } catch {
    console.error(`cannot read ${file}`);
    return 1;
  }
  try {
    const fields = validate(packed);
    console.log(`OK: ${file} is a valid secret (fields: ${Object.keys(fields).join(', ')}; within 4096 bytes)`);
    return 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    console.error(`${error.line}\n${file} would make the app fail with exit code ${error.exitCode}.`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  const values = parseOptions(
    argv,
    {
      namespace: { type: 'string' },
      key: { type: 'string' },
      endpoint: { type: 'string' },
      token: { type: 'string' },
      backup: { type: 'string', default: DEFAULT_BACKUP },
      force: { type: 'boolean', default: false },
      check: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    HELP,
  );
  if (values === undefined) return 2;
  if (values.help) return (console.log(HELP), 0);
  if (values.check !== undefined) return check(values.check);

  // With neither --namespace nor --key, every field is asked for; otherwise flags only (scripts).
  const interactive = values.namespace === undefined && values.key === undefined;
  const given = {
    endpoint: values.endpoint ?? (interactive ? await ask(`endpoint [${DEFAULT_ENDPOINT}]: `) : undefined),
    namespace: values.namespace ?? (interactive ? await ask('namespace: ') : undefined),
    key: values.key ?? (interactive ? await ask('key: ') : undefined),
    token: values.token ?? (interactive ? await ask('token (optional, not echoed): ', true) : undefined),
  };
  lines?.reader.close();
  // Empty answers mean "not set"; the default endpoint is left implicit, as the app defaults it.
  const fields = Object.fromEntries(
    Object.entries(given).filter(([name, value]) => value !== undefined && value !== '' && !(name === 'endpoint' && value === DEFAULT_ENDPOINT)),
  );

  const packed = JSON.stringify(fields);
  try {
    validate(packed);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    console.error(error.line);
    return 1;
  }

  if (existsSync(values.backup) && !values.force) {
    console.error(`${values.backup} exists: a backup is never overwritten without --force (it may be the only copy of a pushed secret).`);
    return 1;
  }
  mkdirSync(dirname(values.backup), { recursive: true, mode: 0o700 });
  writeFileSync(values.backup, packed, { mode: 0o600 });
  chmodSync(values.backup, 0o600); // an overwritten file keeps its old mode otherwise

  console.log(`Packed secret (${Buffer.byteLength(packed)} of 4096 bytes), valid for this app:

  ${packed}

Backup written to ${values.backup} (mode 0600, git-ignored). Keep it: iExec can never give the
value back, never lets it be updated, and its secret service can lose it.

Push it once, from the deploy target's folder (it holds the iexec.json and chain.json that name
the right secret service; README, "Deploy on iExec"):

  cd deploy/tdx && iexec app push-secret --secret-value ${shellQuote(packed)}
  cd deploy/tdx && iexec app push-secret    # asks for the value: keeps it out of shell history
  (SDK 8: deploy/scone-debug or deploy/scone-production with --tee-framework scone,
   deploy/gramine with --tee-framework gramine)

Then: iexec app check-secret (with the same --tee-framework on SDK 8)`);
  return 0;
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
