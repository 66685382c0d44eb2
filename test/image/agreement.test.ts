import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { APP_IMAGE, PODMAN_IMAGE, SCONE_NATIVE_IMAGE } from '../helpers/podman';
import { dockerfileStages } from '../helpers/tee';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const readme = read('README.md');

describe('one name per image', () => {
  it("is image.env's, in the README's commands and as sconify.sh's default source", () => {
    expect(APP_IMAGE).toMatch(/^[a-z0-9-]+:\d+\.\d+\.\d+$/);
    expect(SCONE_NATIVE_IMAGE).toBe(`${APP_IMAGE}-scone-native`);
    expect(readme).toContain(`docker build -t <docker-user>/${APP_IMAGE} .`);
    expect(readme).toContain(`docker build -f Dockerfile.scone -t <docker-user>/${SCONE_NATIVE_IMAGE} .`);
    expect(readme).toContain(`./sconify.sh --from <docker-user>/${SCONE_NATIVE_IMAGE} `);
    expect(readme).toContain(`tools/image/podman-image.sh podman run --rm -e IEXEC_OUT=/iexec_out -v /tmp/task/iexec_out:/iexec_out ${APP_IMAGE}\n`);
    expect(spawnSync('bash', ['sconify.sh', '--help'], { cwd: ROOT, encoding: 'utf8' }).stdout).toContain(`(default: ${SCONE_NATIVE_IMAGE})`);
  });
});

describe('the Node versions', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const minimum = /^>=(\d+)\.(\d+)$/.exec(engines);

  it('tools and tests: package.json engines, .nvmrc (what CI runs them on) and the README agree', () => {
    expect(minimum, engines).not.toBeNull();
    const nvmrc = read('.nvmrc').trim();
    expect(nvmrc).toBe(minimum![1]);
    expect(readme).toContain(`Node.js ${minimum![1]}.${minimum![2]} or later for the tools and tests (CI runs them on Node ${nvmrc}, as \`.nvmrc\` says)`);
    expect(read('.github/workflows/ci.yml')).toMatch(/node-version-file: \.nvmrc[\s\S]*run: bash \.ci\/run/);
    expect(read('.ci/run')).toContain('npm ci --no-audit --no-fund --engine-strict');
  });

  it("the app's: the Dockerfiles' node images, the Node the tests fetch, and the README agree", () => {
    const tags = ['Dockerfile', 'Dockerfile.scone', 'Dockerfile.gramine'].flatMap((file) => dockerfileStages(file).filter((s) => s.image === 'node').map((s) => s.tag));
    const versions = new Set(tags.map((tag) => /^(\d+\.\d+\.\d+)-/.exec(tag ?? '')?.[1]));
    expect([...versions]).toHaveLength(1);
    const [version] = versions;
    expect(version).toBeDefined();
    expect(read('tools/image/podman-image.sh')).toContain(`\nNODE_VERSION=${version}\n`);
    expect(spawnSync('bash', [PODMAN_IMAGE, '--help'], { encoding: 'utf8' }).stdout).toContain(`fetch Node ${version}`);
    expect(readme).toContain(`The\napp itself runs on Node ${version}, the image's`);
  });
});
