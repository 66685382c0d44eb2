import type { SecretSpec } from '../../src/iexec/secret';

const HIDDEN = '<hidden>';

/** The packed secret as tools may show it: the value of every field that is not `shown` replaced. */
export function redacted(spec: SecretSpec, fields: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, spec.fields[name]?.shown === true ? value : HIDDEN])));
}
