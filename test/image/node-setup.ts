import type { TestProject } from 'vitest/node';
import { podmanImage } from '../helpers/podman';
import { absent } from './global-setup';

/** The Node the image runs, fetched once (no podman needed): the bundle's tests run on it too. */
export default async function setup(project: TestProject): Promise<void> {
  const fetched = await podmanImage(['node']);
  project.provide('imageNode', fetched.code === 0
    ? { value: fetched.stdout.trim() }
    : absent('the bundle on the image\'s Node', fetched.stderr.trim().split('\n').at(-1) ?? 'download failed'));
}
