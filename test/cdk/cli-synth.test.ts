import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let out: string;
let result: { code: number; output: string };

/** Environment without any AWS credential or profile: synth must not need them. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_CONFIG_FILE = '/nonexistent';
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent';
  return env;
}

describe('npx cdk synth', () => {
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'jr-cdk-out-'));
    result = await new Promise((done) =>
      execFile(
        'npx',
        ['cdk', 'synth', '--quiet', '--no-version-reporting', '--no-notices', '--output', out],
        { env: offlineEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
      ),
    );
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes offline without AWS credentials and with no cdk-nag finding left', () => {
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toMatch(/AwsSolutions-|Synthesis finished with errors/);
    expect(existsSync(join(out, 'JitRunners.template.json'))).toBe(true);
  });

  it('bundles every function with the local esbuild into a minified ESM file with a source map', () => {
    const template = JSON.parse(readFileSync(join(out, 'JitRunners.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { FunctionName?: string; Code?: { S3Key?: unknown } } }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(4);
    const sizes: Record<string, number> = {};
    for (const fn of functions) {
      const key = String(fn.Properties.Code?.S3Key ?? '');
      const dir = join(out, `asset.${key.replace(/\.zip$/, '')}`);
      const files = readdirSync(dir);
      expect(files.sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      // Minified: long lines, and no source comment survives (why-comments exist in every module).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(code).not.toContain('Why forget a failure');
      sizes[String(fn.Properties.FunctionName)] = statSync(join(dir, 'index.mjs')).size;
    }
    console.info(`synthesized bundle sizes (bytes): ${JSON.stringify(sizes)}`);
  });

  it('ships the default (CodeBuild) deployment without EC2 client code and without the default credential chain', () => {
    const template = JSON.parse(readFileSync(join(out, 'JitRunners.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { FunctionName?: string; Code?: { S3Key?: unknown } } }>;
    };
    const code = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((fn) => {
        const dir = join(out, `asset.${String(fn.Properties.Code?.S3Key ?? '').replace(/\.zip$/, '')}`);
        return [String(fn.Properties.FunctionName), readFileSync(join(dir, 'index.mjs'), 'utf8')] as const;
      });
    expect(code.filter(([, c]) => c.includes('StartBuild')).map(([name]) => name)).toHaveLength(3);
    for (const [name, c] of code) {
      expect(c, name).not.toContain('RunInstances');
      // A log line of @aws-sdk/credential-provider-node's chain (the esbuild alias replaces it).
      expect(c, name).not.toContain('defaultProvider::fromSSO');
    }
  });
});
