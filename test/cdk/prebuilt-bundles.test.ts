import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PREBUILT_DIR,
  prebuiltBundle,
  prebuiltBundleDir,
  sharedBundleDir,
} from '../../cdk/constructs/handler-function.ts';

let root: string;

function bundle(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.mjs'), 'export const handler = () => {};\n');
}

describe('prebuilt bundles of the installed package', () => {
  beforeAll(() => {
    root = `${mkdtempSync(join(tmpdir(), 'jr-prebuilt-'))}/`;
    bundle(prebuiltBundleDir(root, 'codebuild,ec2', 'provisioner.ts'));
    bundle(sharedBundleDir(root, 'webhook.ts'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("uses the launcher set's own bundle of a function (its folder name has a + for the comma)", () => {
    expect(prebuiltBundle(root, 'codebuild,ec2', 'provisioner.ts')).toBe(`${root}codebuild+ec2/provisioner/`);
  });

  it('falls back to the shared bundle of a function that is the same for every launcher set', () => {
    expect(prebuiltBundle(root, 'ec2', 'webhook.ts')).toBe(`${root}shared/webhook/`);
  });

  it('finds none when the build made none for that function and set', () => {
    expect(prebuiltBundle(root, 'codebuild', 'provisioner.ts')).toBeUndefined();
    expect(prebuiltBundle(root, 'codebuild', 'reconciler.ts')).toBeUndefined();
  });

  it("finds none beside the repository's sources: its own synth bundles with the local esbuild", () => {
    expect(existsSync(PREBUILT_DIR)).toBe(false);
  });
});
