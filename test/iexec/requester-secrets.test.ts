import { describe, expect, it } from 'vitest';
import { readRequesterSecrets, requireRequesterSecret } from '../../src/iexec/requester-secrets';
import { failureOf } from '../helpers/errors';

describe('requester secrets', () => {
  it('reads IEXEC_REQUESTER_SECRET_<n> for n from 1, and nothing else', () => {
    const secrets = readRequesterSecrets({
      IEXEC_REQUESTER_SECRET_1: 'one',
      IEXEC_REQUESTER_SECRET_12: 'twelve',
      IEXEC_REQUESTER_SECRET_0: 'zero',
      IEXEC_REQUESTER_SECRET_01: 'leading zero',
      IEXEC_REQUESTER_SECRET_3: '',
      IEXEC_REQUESTER_SECRET_X: 'x',
      XIEXEC_REQUESTER_SECRET_2: 'prefixed',
      IEXEC_REQUESTER_SECRET_4X: 'suffixed',
      iexec_requester_secret_5: 'lower case',
      IEXEC_REQUESTER_SECRET_6: undefined,
      IEXEC_APP_DEVELOPER_SECRET: 'developer',
    });
    expect([...secrets]).toEqual([
      [1, 'one'],
      [12, 'twelve'],
    ]);
  });

  it('gives a required one, or says how to pass it', async () => {
    const secrets = readRequesterSecrets({ IEXEC_REQUESTER_SECRET_1: 'one' });
    expect(requireRequesterSecret(secrets, 1)).toBe('one');
    const error = await failureOf(() => requireRequesterSecret(secrets, 2));
    expect(error.line).toBe('REQUESTER_SECRET_MISSING: requester secret 2 is not set (iexec app run --secret 2=<name of your secret>)');
    expect(error.exitCode).toBe(11);
  });
});
