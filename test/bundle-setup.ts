import { buildBundle } from '../tools/build';
import { APPS } from './helpers/apps';

/** End-to-end tests run the real bundles: each app's is built once, as `npm run build` does. */
export default async function setup(): Promise<void> {
  for (const { target } of APPS) await buildBundle(target);
}
