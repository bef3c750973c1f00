import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsCall {
  /** `CodeBuild_20161006.StartBuild`, `AmazonSSM.PutParameter`, `Lambda.Invoke`. */
  operation: string;
  body: string;
}

/**
 * A loopback stand-in for the AWS APIs the handlers call that cannot run here (CodeBuild, SSM, Lambda
 * Invoke): the bundled SDK reaches it through `AWS_ENDPOINT_URL`, so the real clients, serializers and
 * the bundle's own code paths run. Answers are the documented success shapes.
 */
export async function startFakeAws(projectName: string) {
  const calls: AwsCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      if (invoke) {
        calls.push({ operation: 'Lambda.Invoke', body });
        res.writeHead(202).end();
        return;
      }
      const operation = String(req.headers['x-amz-target'] ?? 'unknown');
      calls.push({ operation, body });
      const answers: Record<string, unknown> = {
        'CodeBuild_20161006.StartBuild': {
          build: { id: `${projectName}:${randomUUID()}`, buildStatus: 'IN_PROGRESS' },
        },
        'CodeBuild_20161006.ListBuildsForProject': { ids: [] },
        'AmazonSSM.PutParameter': { Version: 1, Tier: 'Standard' },
        'AmazonSSM.DeleteParameter': {},
        'AmazonSSM.DescribeParameters': { Parameters: [] },
      };
      const answer = answers[operation];
      if (answer === undefined) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: operation }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
