import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Answers the AWS APIs the handlers call besides DynamoDB (Lambda Invoke, CodeBuild, SSM) with minimal
 * valid responses, so a bundled handler can answer an event in a fresh process with no network. Reached
 * through the SDK's `AWS_ENDPOINT_URL_<SERVICE>` variables. Counts the calls per operation.
 */
export interface AwsStub {
  url: string;
  calls: Record<string, number>;
  close(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';

function answerFor(target: string): unknown {
  switch (target) {
    case 'CodeBuild_20161006.StartBuild': {
      const id = `bench:${randomUUID()}`;
      return { build: { id, arn: `arn:aws:codebuild:us-east-1:123456789012:build/${id}`, buildStatus: 'IN_PROGRESS' } };
    }
    case 'CodeBuild_20161006.ListBuildsForProject':
      return { ids: [] };
    case 'CodeBuild_20161006.BatchGetBuilds':
      return { builds: [], buildsNotFound: [] };
    case 'CodeBuild_20161006.StopBuild':
      return { build: {} };
    case 'AmazonSSM.PutParameter':
      return { Version: 1, Tier: 'Standard' };
    case 'AmazonSSM.DescribeParameters':
      return { Parameters: [] };
    case 'AmazonSSM.DeleteParameters':
      return { DeletedParameters: [], InvalidParameters: [] };
    case 'AmazonSSM.DeleteParameter':
      return {};
    default:
      return undefined;
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // The stub answers by operation only.
  }
}

export async function startAwsStub(): Promise<AwsStub> {
  const calls: Record<string, number> = {};
  const server: Server = createServer(async (req, res) => {
    await drain(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target && /\/functions\/[^/]+\/invocations$/.test(req.url ?? '')) {
      calls['Lambda.Invoke'] = (calls['Lambda.Invoke'] ?? 0) + 1;
      res.writeHead(202, { 'content-length': '0', 'x-amzn-requestid': randomUUID() });
      res.end();
      return;
    }
    const body = answerFor(target);
    calls[target || `${req.method} ${req.url}`] = (calls[target || `${req.method} ${req.url}`] ?? 0) + 1;
    const text = JSON.stringify(body ?? { __type: 'UnknownOperationException', message: `bench stub: ${target}` });
    res.writeHead(body === undefined ? 400 : 200, {
      'content-type': JSON_11,
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
