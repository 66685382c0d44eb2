import { buildBundle } from '../tools/build';

/** End-to-end tests run the real bundle: build it once, as `npm run build` does. */
export default async function setup(): Promise<void> {
  await buildBundle();
}
