import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { signedDelivery, workflowJobPayload } from '../support/webhook-fixtures.ts';
import { type FakeGitHubApi, MINTED, startFakeGitHubApi } from './fake-github-api.ts';

const TABLE = 'jit-runners-redaction';
const WEBHOOK_SECRET = 'redaction-webhook-secret-0123456789';
const SECRETS = Object.values(MINTED);
const { privateKey: KEY } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_KEY = KEY.export({ type: 'pkcs1', format: 'pem' }).toString();

/**
 * AWS as badly as it could behave: every request (DynamoDB, CodeBuild, SSM, Lambda) is answered with a
 * validation error whose message echoes the three minted secrets, the way a validation error may quote
 * the value it refused. Whatever the functions do with such an error, no secret may come out of them.
 */
async function startLeakyAws() {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const message = `1 validation error detected: Value '${SECRETS.join("' and '")}' failed to satisfy constraint`;
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ValidationException' });
      res.end(JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message, Message: message }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** Everything the functions write to stdout/stderr (Powertools lines, console lines) while `work` runs. */
async function captureOutput<T>(work: () => Promise<T>): Promise<{ result?: T; thrown?: unknown; output: string }> {
  const lines: string[] = [];
  const grab = (chunk: unknown) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(grab as never);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(grab as never);
  const consoles = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' '))),
  );
  try {
    return { result: await work(), output: lines.join('\n') };
  } catch (thrown) {
    return { thrown, output: lines.join('\n') };
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const c of consoles) c.mockRestore();
  }
}

/**
 * What Lambda makes of an error a handler throws: the runtime's log line (`Invoke Error` with type,
 * message and stack) and the asynchronous invocation's on-failure record (the provisioner's dead-letter
 * queue), which carries the request and the error as the response payload.
 */
function whatLambdaRecords(event: unknown, thrown: unknown): string {
  const error = thrown as Error;
  const runtimeLine = `ERROR\tInvoke Error\t${JSON.stringify({ errorType: error.name, errorMessage: error.message, stack: error.stack?.split('\n') })}`;
  const deadLetter = JSON.stringify({
    version: '1.0',
    requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: error.name, errorMessage: error.message, trace: error.stack?.split('\n') },
  });
  return `${runtimeLine}\n${deadLetter}`;
}

const expectNoSecret = (text: string) => {
  for (const secret of [...SECRETS, WEBHOOK_SECRET, PRIVATE_KEY.split('\n')[1] as string]) {
    expect(text).not.toContain(secret);
  }
  // Nor a recognisable part of one (the JIT config's first kilobyte-long run, the token's tail).
  expect(text).not.toContain(MINTED.jitConfig.slice(40, 120));
  expect(text).not.toContain(MINTED.registrationToken.slice(5));
};

type Handler = (event: unknown, context?: unknown) => Promise<unknown>;
const importHandler = async (name: string): Promise<Handler> =>
  ((await import(`../../functions/handlers/${name}.ts`)) as { handler: Handler }).handler;

const baseEnv = (github: FakeGitHubApi, awsUrl: string, dynamoEndpoint: string) => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIATESTREDACTION',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  AWS_ENDPOINT_URL: awsUrl,
  GITHUB_APP_ID: '123',
  GITHUB_APP_PRIVATE_KEY: PRIVATE_KEY,
  GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
  GITHUB_API_URL: github.url,
  LAUNCHER: 'codebuild',
  CODEBUILD_PROJECT_NAME: 'JR-x64',
  PROVISIONER_FUNCTION_NAME: 'JR-provisioner',
  TABLE_NAME: TABLE,
  DYNAMODB_ENDPOINT: dynamoEndpoint,
  JIT_CONFIG_PARAMETER_PREFIX: '/JR/jit-config',
  // The logs under test include the debug ones.
  LOG_LEVEL: 'DEBUG',
});

describe('no minted secret (JIT config, registration token, installation token) leaves a handler', () => {
  const saved = { ...process.env };
  let dynamo: EmbeddedDynamo;
  let github: FakeGitHubApi;
  let leaky: Awaited<ReturnType<typeof startLeakyAws>>;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    await ensureTable(createLocalDynamoClient(dynamo.endpoint), TABLE);
    github = await startFakeGitHubApi();
    leaky = await startLeakyAws();
  }, 60_000);

  afterAll(async () => {
    process.env = saved;
    await github?.close();
    await leaky?.close();
    await dynamo?.close();
  });

  it('through the log paths: the provisioner mints all three, every AWS answer echoes them, and no line carries one', async () => {
    vi.resetModules();
    process.env = { ...saved, ...baseEnv(github, leaky.url, dynamo.endpoint), BASELINE_POLICY: 'proactive' };
    const store = createDynamoStore({ client: createLocalDynamoClient(dynamo.endpoint), tableName: TABLE });
    const job = (jobId: number, repo: string) => ({
      jobId,
      runId: jobId * 10,
      owner: 'octo',
      repo,
      scopeKey: `octo/${repo}`,
      installationId: 5,
      labels: ['self-hosted', 'linux', 'x64'],
    });
    // A scope with a baseline gets a JIT config at once; one without runs the workaround (a registration token).
    await store.baselines.put(
      { scopeKey: 'octo/ready', state: 'present', workarounds: 0, installationId: 5, verifiedOnlineAt: 1 },
      0,
      Date.now(),
    );
    await store.jobs.create(job(21, 'ready'), 'delivery-21', Date.now());
    await store.jobs.create(job(22, 'fresh'), 'delivery-22', Date.now());
    const provisioner = await importHandler('provisioner');

    const { output } = await captureOutput(async () => {
      await provisioner({ jobId: 21 }).catch(() => undefined);
      await provisioner({ jobId: 22 }).catch(() => undefined);
      // The workaround runs beside the provisioning: wait for its end (its failure, here).
      for (let i = 0; i < 100 && !(await store.baselines.get('octo/fresh'))?.reason?.includes('Validation'); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    // Everything was minted and every launch met the leaking answer.
    for (const endpoint of ['access_tokens', 'generate-jitconfig', 'registration-token']) {
      expect(
        github.calls.some((c) => c.includes(endpoint)),
        endpoint,
      ).toBe(true);
    }
    expect(leaky.requests).toBeGreaterThan(0);
    expect(output).toContain('"level":"');
    expectNoSecret(output);
    // Nor in what the store recorded about the jobs and the workaround.
    expectNoSecret(
      JSON.stringify([await store.jobs.get(21), await store.jobs.get(22), await store.baselines.get('octo/fresh')]),
    );
  }, 60_000);

  describe('through the error paths: the store itself answers with the secrets in its error', () => {
    const invocations: { name: string; event: () => Promise<unknown> }[] = [
      { name: 'provisioner', event: async () => ({ jobId: 31 }) },
      { name: 'reconciler', event: async () => ({}) },
      {
        name: 'runner-events',
        event: async () => ({
          awslogs: {
            data: gzipSync(
              JSON.stringify({
                messageType: 'DATA_MESSAGE',
                logGroup: '/jit-runners/JR/runners',
                logStream: 'codebuild/4e2c8a71-5b6e-4a7f-9c2d-1e0f9a8b7c6d',
                // A runner that prints its own secrets: the line is never logged either.
                logEvents: [
                  {
                    id: '1',
                    timestamp: Date.now(),
                    message: `Failed to get job message: Bad Request ${SECRETS.join(' ')}`,
                  },
                ],
              }),
            ).toString('base64'),
          },
        }),
      },
    ];

    for (const { name, event } of invocations) {
      it(`${name}: the thrown error, the runtime log and the dead-letter record say only safe fields`, async () => {
        vi.resetModules();
        process.env = { ...saved, ...baseEnv(github, leaky.url, leaky.url) };
        const handler = await importHandler(name);
        const input = await event();
        const { thrown, output } = await captureOutput(() => handler(input, { awsRequestId: `req-${name}` }));

        expect(thrown).toBeInstanceOf(Error);
        expect((thrown as Error).name).toBe('HandlerFailure');
        expect((thrown as Error).message).toMatch(new RegExp(`^${name} failed: ValidationException`));
        expect((thrown as { cause?: unknown }).cause).toBeUndefined();
        expect(output).toContain(`${name} invocation failed`);
        expectNoSecret(output);
        expectNoSecret(whatLambdaRecords(input, thrown));
      }, 30_000);
    }

    it('webhook: answers 500 without detail and logs only safe fields', async () => {
      vi.resetModules();
      process.env = { ...saved, ...baseEnv(github, leaky.url, leaky.url) };
      const webhook = (await import('../../functions/handlers/webhook.ts')).handler;
      const delivery = await signedDelivery(
        WEBHOOK_SECRET,
        workflowJobPayload({ action: 'queued', jobId: 41, owner: 'octo', repo: 'app' }),
      );
      const { result, output } = await captureOutput(() =>
        webhook({
          rawPath: '/',
          headers: delivery.headers,
          body: delivery.body,
          isBase64Encoded: false,
          requestContext: { http: { method: 'POST' } },
        } as never),
      );
      expect(result).toMatchObject({ statusCode: 500 });
      expectNoSecret(JSON.stringify(result));
      expect(output).toContain('webhook invocation failed');
      expectNoSecret(output);
    }, 30_000);
  });
});
