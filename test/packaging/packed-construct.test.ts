import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user's CDK app gets it. A copy of the repository (so a concurrent build in the
 * checkout is not disturbed) is packed by `npm pack`, whose prepack runs `npm run build`. The tarball
 * is unpacked into a fresh app's node_modules, offline: next to it are links to this repository's
 * copies of exactly the package's `dependencies` and `peerDependencies` (what `npm install jit-runners`
 * would add to an app that has aws-cdk-lib and constructs), so an import of anything else fails the
 * synth. The app is TypeScript, compiled with plain tsc and run with plain node.
 */
const ROOT = join(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
/** Left out of the copy: what git ignores (build output, state) and the repository's own metadata. */
const NOT_COPIED = new Set(['.git', 'node_modules', 'dist', 'cdk.out', '.jit-runners', 'coverage', '.bench']);
/** The user app's own packages besides the ones the package asks for: the types its tsc compiles against. */
const APP_DEV_DEPENDENCIES = ['@types/node'];

const USER_APP = `import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { JitRunners, type JitRunnersPool } from 'jit-runners';

const pools: JitRunnersPool[] = [
  {
    name: 'x64',
    labels: ['self-hosted', 'linux', 'x64'],
    maxRunners: 20,
    codebuild: { computeType: 'BUILD_GENERAL1_LARGE', docker: true },
    tags: { team: 'platform' },
  },
  {
    name: 'arm64-large',
    labels: ['self-hosted', 'linux', 'arm64', 'large'],
    ec2: {
      architecture: 'arm64',
      instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
      spot: true,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0'],
    },
    runnerPolicies: [
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::build-cache/ml/*'] }),
    ],
  },
];

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Platform');
new JitRunners(stack, 'Runners', { config: { appId: 123456, scope: 'org' }, pools });
app.synth();
`;

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}
type Resource = { Type: string; Properties: Record<string, unknown> };

let dir: string;
let packed: Packed;
let installed: string;
let out: string;
let json: { Resources: Record<string, Resource> };
let template: Template;
const timings: Record<string, string> = {};

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const started = Date.now();
  // No update check, funding or audit requests: nothing but the local files is needed.
  const env = {
    ...process.env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  return new Promise((done, fail) =>
    execFile(cmd, args, { cwd, env, timeout: 150_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const what = cmd === process.execPath ? basename(args[0] ?? '') : `${cmd} ${args[0] ?? ''}`;
      timings[`${relative(dir, cwd) || '.'}: ${what}`] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (error) fail(new Error(`${cmd} ${args.join(' ')}: ${error.message}\n${stdout}${stderr}`));
      else done(stdout);
    }),
  );
}

/** Links a package of this repository's node_modules into the app's (scoped names in their scope folder). */
function link(modules: string, name: string): void {
  const target = join(modules, name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', name), target, 'dir');
}

/** The functions' environment variables of the template. */
function environments(): Array<Record<string, unknown>> {
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables);
}

/** A template string value: a literal, or an `Fn::Join` of literals and references (each read as `<ref>`). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join === undefined) return '<ref>';
  return join[1].map(text).join(join[0]);
}

describe('the packed package in a user CDK app', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jr-packed-'));
    const repo = join(dir, 'repo');
    cpSync(ROOT, repo, {
      recursive: true,
      filter: (source) => {
        const top = relative(ROOT, source).split(sep)[0] ?? '';
        return !NOT_COPIED.has(top) && !source.endsWith('.cpuprofile');
      },
    });
    symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');
    const report = await run('npm', ['pack', '--pack-destination', dir, '--json', '--offline'], repo);
    packed = (JSON.parse(report) as Packed[])[0] as Packed;

    const app = join(dir, 'app');
    const modules = join(app, 'node_modules');
    installed = join(modules, 'jit-runners');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(dir, packed.filename), '--strip-components=1', '-C', installed], dir);
    for (const name of [
      ...Object.keys(pkg.dependencies),
      ...Object.keys(pkg.peerDependencies),
      ...APP_DEV_DEPENDENCIES,
    ])
      link(modules, name);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          outDir: 'out',
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    writeFileSync(join(app, 'app.ts'), USER_APP);
    await run(process.execPath, [TSC, '-p', app], app);
    out = join(dir, 'cdk.out');
    await run(process.execPath, [join(app, 'out/app.js'), out], app);
    json = JSON.parse(readFileSync(join(out, 'Platform.template.json'), 'utf8')) as typeof json;
    template = Template.fromJSON(json);
    console.info(`packed construct timings: ${JSON.stringify(timings)}`);
  }, 300_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('packs the compiled construct with declarations, the prebuilt bundles, the bootstrap and the CLI', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/cdk/index.js',
        'dist/cdk/index.d.ts',
        'dist/cdk/jit-runners.d.ts',
        'dist/runner/bootstrap.sh',
        'dist/runner/checksums.json',
        'dist/lambda/codebuild/provisioner/index.mjs',
        'dist/lambda/ec2/provisioner/index.mjs',
        'dist/lambda/codebuild+ec2/provisioner/index.mjs',
        'dist/lambda/shared/webhook/index.mjs',
        'bin/jit-runners.mjs',
        'functions/cli/main.ts',
        'runner/bootstrap.sh',
      ]),
    );
    console.info(
      `packed: ${packed.filename} ${(packed.size / 1024 / 1024).toFixed(2)} MB (${(packed.unpackedSize / 1024 / 1024).toFixed(2)} MB unpacked), ${paths.length} files`,
    );
  });

  it('packs no tests, bench, CI, docs, deploy sources, source maps or repository tooling', () => {
    const paths = packed.files.map((f) => f.path);
    const top = new Set(paths.map((p) => p.split('/')[0]));
    expect([...top].sort()).toEqual([
      'README.md',
      'app-manifest.json',
      'bin',
      'dist',
      'functions',
      'package.json',
      'runner',
    ]);
    expect(paths.filter((p) => p.endsWith('.map') || p.endsWith('.test.ts'))).toEqual([]);
    // Room for growth, but a stray folder (node_modules, cdk.out, state) would be far above it.
    expect(packed.size).toBeLessThan(6 * 1024 * 1024);
  });

  it('synthesizes the CodeBuild pool: its own project, privileged for Docker, tagged', () => {
    template.resourceCountIs('AWS::CodeBuild::Project', 1);
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: 'Platform-x64',
      Environment: Match.objectLike({ PrivilegedMode: true, ComputeType: 'BUILD_GENERAL1_LARGE' }),
      Tags: Match.arrayWith([
        { Key: 'jit-runners:pool', Value: 'x64' },
        { Key: 'team', Value: 'platform' },
      ]),
    });
  });

  it('synthesizes the EC2 pool: its own launch template and runner role with the statement the app passed', () => {
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateName: 'Platform-arm64-large',
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpTokens: 'required' }) }),
    });
    // A PolicyStatement of the app's aws-cdk-lib is one of the construct's: one copy of the library.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::build-cache/ml/*' }),
        ]),
      },
    });
  });

  it('gives every function RUNNER_POOLS with both pools, the EC2 one with its instance types and spot', () => {
    const envs = environments();
    expect(envs).toHaveLength(4);
    for (const env of envs) {
      expect(env).not.toHaveProperty('RUNNER_POOLS_PARAMETER');
      expect(env).not.toHaveProperty('RUNNER_LABELS');
      expect(env.LAUNCHER).toBe('codebuild');
      const pools = JSON.parse(text(env.RUNNER_POOLS)) as unknown;
      expect(pools).toEqual([
        {
          name: 'x64',
          labels: ['self-hosted', 'linux', 'x64'],
          launcher: 'codebuild',
          maxRunners: 20,
          codebuild: { projectName: expect.any(String) },
        },
        {
          name: 'arm64-large',
          labels: ['self-hosted', 'linux', 'arm64', 'large'],
          launcher: 'ec2',
          ec2: {
            launchTemplateId: '<ref>',
            instanceTypes: ['m7g.xlarge', 'm6g.xlarge'],
            subnetIds: ['subnet-0123456789abcdef0'],
            spot: true,
          },
        },
      ]);
    }
  });

  it('deploys the bundles the package was built with, the provisioner carrying both launchers', () => {
    const bundles: Record<string, string> = {
      'Platform-webhook': 'shared/webhook',
      'Platform-provisioner': 'codebuild+ec2/provisioner',
      'Platform-runner-events': 'codebuild+ec2/runner-events',
      'Platform-reconciler': 'codebuild+ec2/reconciler',
    };
    const functions = Object.values(json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((fn) => String(fn.Properties.FunctionName)).sort()).toEqual(Object.keys(bundles).sort());
    for (const fn of functions) {
      const asset = join(out, `asset.${String((fn.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '')}`);
      expect(readdirSync(asset)).toEqual(['index.mjs']);
      const code = readFileSync(join(asset, 'index.mjs'));
      const shipped = readFileSync(
        join(installed, 'dist/lambda', bundles[String(fn.Properties.FunctionName)] ?? '', 'index.mjs'),
      );
      expect(code.equals(shipped)).toBe(true);
    }
    const provisioner = readFileSync(join(installed, 'dist/lambda/codebuild+ec2/provisioner/index.mjs'), 'utf8');
    expect(provisioner).toContain('StartBuild');
    expect(provisioner).toContain('RunInstances');
  });
});
