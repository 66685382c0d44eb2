import { taskError } from '../errors';

const VARIABLE = /^IEXEC_REQUESTER_SECRET_([1-9]\d*)$/;

/**
 * The requester's secrets (`iexec app run --secret 1=<name>`), which the SMS injects into the
 * enclave as IEXEC_REQUESTER_SECRET_<n>. They carry the same promise as the developer secret:
 * no value is ever printed or written by the plumbing, and the app must keep it so.
 */
export function readRequesterSecrets(env: NodeJS.ProcessEnv): ReadonlyMap<number, string> {
  const secrets = new Map<number, string>();
  for (const [name, value] of Object.entries(env)) {
    const index = VARIABLE.exec(name)?.[1];
    if (index !== undefined && value !== undefined && value !== '') secrets.set(Number(index), value);
  }
  return secrets;
}

/** The requester secret `index`, or a coded failure that tells the requester how to give it. */
export function requireRequesterSecret(secrets: ReadonlyMap<number, string>, index: number): string {
  const value = secrets.get(index);
  if (value === undefined) {
    throw taskError('REQUESTER_SECRET_MISSING', `requester secret ${index} is not set (iexec app run --secret ${index}=<name of your secret>)`);
  }
  return value;
}
