import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsCall {
  /** `CodeBuild_20161006.StartBuild`, `AmazonSSM.PutParameter`, `Lambda.Invoke`, `EC2.RunInstances`. */
  operation: string;
  body: string;
  /** The access key id the request was signed with (SigV4 `Credential=`), if it was signed. */
  accessKeyId: string | undefined;
}

/** EC2 answers in its query protocol: XML, by the `Action` of the form body. */
function ec2Answer(action: string): string | undefined {
  const wrap = (inner: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId>${inner}</${action}Response>`;
  switch (action) {
    case 'RunInstances':
      return wrap(
        `<reservationId>r-0fake</reservationId><ownerId>111122223333</ownerId><instancesSet><item><instanceId>i-0${randomUUID().replaceAll('-', '').slice(0, 16)}</instanceId></item></instancesSet>`,
      );
    case 'DescribeInstances':
      return wrap('<reservationSet/>');
    default:
      return undefined;
  }
}

/**
 * A loopback stand-in for the AWS APIs the handlers call that cannot run here (CodeBuild, EC2, SSM,
 * Lambda Invoke): the bundled SDK reaches it through `AWS_ENDPOINT_URL`, so the real clients,
 * serializers and the bundle's own code paths run. Answers are the documented success shapes.
 */
export async function startFakeAws(projectName: string) {
  const calls: AwsCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      const action = String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')
        ? new URLSearchParams(body).get('Action')
        : null;
      if (action) {
        calls.push({ operation: `EC2.${action}`, body, accessKeyId });
        const xml = ec2Answer(action);
        res.writeHead(xml ? 200 : 400, { 'content-type': 'text/xml' });
        res.end(
          xml ??
            `<Response><Errors><Error><Code>InvalidAction</Code><Message>${action}</Message></Error></Errors></Response>`,
        );
        return;
      }
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      if (invoke) {
        calls.push({ operation: 'Lambda.Invoke', body, accessKeyId });
        res.writeHead(202).end();
        return;
      }
      const operation = String(req.headers['x-amz-target'] ?? 'unknown');
      calls.push({ operation, body, accessKeyId });
      const answers: Record<string, unknown> = {
        'CodeBuild_20161006.StartBuild': (() => {
          const id = `${projectName}:${randomUUID()}`;
          return {
            build: { id, arn: `arn:aws:codebuild:eu-west-1:111122223333:build/${id}`, buildStatus: 'IN_PROGRESS' },
          };
        })(),
        'CodeBuild_20161006.ListBuildsForProject': { ids: [] },
        'AmazonSSM.PutParameter': { Version: 1, Tier: 'Advanced' },
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
