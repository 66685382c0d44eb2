/**
 * The example app: counts one hit on a counter API and reports the new count.
 * This file is the app's contract with the rest of the project; replace it with yours.
 */
import * as z from 'zod/mini';
import { defineApp } from '#iexec/app';
import { defineArgs } from '#iexec/args';
import { counterService, hitCounter } from './counter';
import { counterName, counterSecret } from './secret';

export const app = defineApp({
  secret: counterSecret,
  args: defineArgs({
    schema: z.strictObject({ key: z.optional(counterName) }),
    options: { key: { description: "the counter to hit in the secret's namespace (default: the secret's key)" } },
  }),
  upstreams: [counterService],
  errors: counterService.errors,
  resultVaries: 'the count grows with every hit',
  async run({ secret, args }) {
    const hits = await hitCounter({ ...secret, key: args.key ?? secret.key });
    const result = `endpoint hit ${hits} times`;
    return { result, log: result };
  },
});
