import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Answers the AWS APIs the handlers call besides DynamoDB (Lambda Invoke, CodeBuild, EC2, SSM) with minimal
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

/** EC2 speaks the query protocol: a form body with `Action=…`, an XML answer. */
function ec2AnswerFor(action: string): string | undefined {
  const xml = (body: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId>${body}</${action}Response>`;
  switch (action) {
    case 'RunInstances': {
      const id = `i-0${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      return xml(
        `<reservationId>r-0bench</reservationId><ownerId>111122223333</ownerId><instancesSet><item><instanceId>${id}</instanceId></item></instancesSet>`,
      );
    }
    case 'DescribeInstances':
      return xml('<reservationSet/>');
    case 'TerminateInstances':
      return xml('<instancesSet/>');
    default:
      return undefined;
  }
}

/** The request body; the stub answers by operation only (the EC2 action is in the body). */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAwsStub(): Promise<AwsStub> {
  const calls: Record<string, number> = {};
  const server: Server = createServer(async (req, res) => {
    const requestBody = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target && /\/functions\/[^/]+\/invocations$/.test(req.url ?? '')) {
      calls['Lambda.Invoke'] = (calls['Lambda.Invoke'] ?? 0) + 1;
      res.writeHead(202, { 'content-length': '0', 'x-amzn-requestid': randomUUID() });
      res.end();
      return;
    }
    const action = String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')
      ? new URLSearchParams(requestBody).get('Action')
      : null;
    if (!target && action) {
      const xml = ec2AnswerFor(action);
      calls[`EC2.${action}`] = (calls[`EC2.${action}`] ?? 0) + 1;
      res.writeHead(xml === undefined ? 400 : 200, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
      res.end(
        xml ??
          `<Response><Errors><Error><Code>InvalidAction</Code><Message>bench stub: ${action}</Message></Error></Errors></Response>`,
      );
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
