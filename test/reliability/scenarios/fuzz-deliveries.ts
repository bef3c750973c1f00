import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { workflowJobPayload } from '../../support/webhook-fixtures.ts';

export interface FuzzDelivery {
  kind: string;
  headers: Record<string, string>;
  body: string;
}

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Values that are not a positive integer (ids must be). */
const notPositiveInt = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(0),
  fc.integer({ max: -1 }),
  fc.double({ noInteger: true, noNaN: true }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
/** Values that are not a non-empty string. */
const notNonEmptyString = fc.oneof(
  fc.constant(''),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
);
/** Values that are not a list of strings. */
const notStringList = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.boolean()), { minLength: 1, maxLength: 4 }),
);

/** Paths the webhook schema requires, with values of the wrong type for each. */
const confusions: [string[], fc.Arbitrary<unknown>][] = [
  [['action'], notNonEmptyString],
  [['workflow_job'], fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.array(fc.integer()))],
  [['workflow_job', 'id'], notPositiveInt],
  [['workflow_job', 'run_id'], fc.oneof(fc.string(), fc.constant(null), fc.integer({ max: -1 }), fc.boolean())],
  [['workflow_job', 'labels'], notStringList],
  [['workflow_job', 'status'], fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string()))],
  [['repository'], fc.oneof(fc.constant(null), fc.string(), fc.integer())],
  [['repository', 'name'], notNonEmptyString],
  [['repository', 'owner'], fc.oneof(fc.constant(null), fc.string(), fc.integer())],
  [['repository', 'owner', 'login'], notNonEmptyString],
  [['installation'], fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.array(fc.integer()))],
  [['installation', 'id'], notPositiveInt],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

const baseHeaders = (body: string, secret: string, event = 'workflow_job') => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-github-delivery': randomUUID(),
  'x-hub-signature-256': sign(secret, body),
});

const action = fc.constantFrom('queued', 'in_progress', 'completed');
const jobId = fc.integer({ min: 1, max: 2 ** 40 });

/**
 * Deliveries that must all be refused with a 4xx and change nothing: correctly signed but type-confused
 * or missing required fields, malformed JSON, oversized bodies, wrong/missing/garbled signatures, and a
 * missing event header. Valid-looking bodies use real `workflow_job` payloads from @octokit/webhooks-examples.
 */
export function fuzzDeliveries(secret: string): fc.Arbitrary<FuzzDelivery> {
  const typeConfused = fc
    .tuple(action, jobId, fc.constantFrom(...confusions.keys()), fc.nat())
    .chain(([a, id, which, seed]) => {
      const [path, wrong] = confusions[which] as [string[], fc.Arbitrary<unknown>];
      return fc.option(wrong, { nil: undefined, freq: 4 }).map((value) => {
        const payload = workflowJobPayload({ action: a, jobId: id }) as unknown as Record<string, unknown>;
        setPath(payload, path, value);
        const body = JSON.stringify(payload);
        return { kind: `type-confused ${path.join('.')} (${seed % 10})`, headers: baseHeaders(body, secret), body };
      });
    });

  const malformed = fc
    .tuple(action, jobId, fc.nat(), fc.string({ minLength: 1, maxLength: 40 }))
    .map(([a, id, cut, junk]) => {
      const text = JSON.stringify(workflowJobPayload({ action: a, jobId: id }));
      const body = `${text.slice(0, 1 + (cut % (text.length - 1)))}${junk.replace(/[}\]]/g, '')}`;
      return { kind: 'malformed JSON', headers: baseHeaders(body, secret), body };
    });

  const notAnObject = fc
    .oneof(fc.integer(), fc.string(), fc.constant(null), fc.boolean(), fc.array(fc.anything(), { maxLength: 3 }))
    .map((value) => {
      const body = JSON.stringify(value) ?? 'null';
      return { kind: 'JSON but not an object', headers: baseHeaders(body, secret), body };
    });

  const misSigned = fc
    .tuple(
      action,
      jobId,
      fc.oneof(
        fc.constant('wrong-secret'),
        fc.string({ minLength: 1 }),
        fc.constant(`${secret} `),
        fc.constant(secret.toUpperCase()),
      ),
      fc.constantFrom('wrong key', 'garbled', 'missing', 'sha1', 'truncated', 'empty'),
    )
    .map(([a, id, otherSecret, how]) => {
      const body = JSON.stringify(workflowJobPayload({ action: a, jobId: id }));
      const headers: Record<string, string> = baseHeaders(body, secret);
      const good = headers['x-hub-signature-256'] as string;
      switch (how) {
        case 'wrong key':
          headers['x-hub-signature-256'] = sign(otherSecret === secret ? `${secret}!` : otherSecret, body);
          break;
        case 'garbled':
          headers['x-hub-signature-256'] = `sha256=${good.slice(7).split('').reverse().join('')}`;
          break;
        case 'missing':
          delete headers['x-hub-signature-256'];
          break;
        case 'sha1':
          headers['x-hub-signature-256'] = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
          break;
        case 'truncated':
          headers['x-hub-signature-256'] = good.slice(0, 20);
          break;
        case 'empty':
          headers['x-hub-signature-256'] = '';
          break;
      }
      return { kind: `mis-signed (${how})`, headers, body };
    });

  const bodyTampered = fc.tuple(action, jobId, fc.integer({ min: 1, max: 2 ** 40 })).map(([a, id, other]) => {
    const signed = JSON.stringify(workflowJobPayload({ action: a, jobId: id }));
    const body = signed.replace(`"id":${id}`, `"id":${other === id ? id + 1 : other}`);
    return { kind: 'mis-signed (body changed after signing)', headers: baseHeaders(signed, secret), body };
  });

  const oversized = fc.tuple(jobId, fc.integer({ min: 1, max: 4096 })).map(([id, extra]) => {
    const payload = workflowJobPayload({ action: 'queued', jobId: id }) as unknown as Record<string, unknown>;
    const base = JSON.stringify(payload).length;
    payload.padding = 'x'.repeat(MAX_BODY_BYTES - base + extra);
    const body = JSON.stringify(payload);
    return { kind: 'oversized', headers: baseHeaders(body, secret), body };
  });

  const noEvent = fc.tuple(action, jobId).map(([a, id]) => {
    const body = JSON.stringify(workflowJobPayload({ action: a, jobId: id }));
    const headers: Record<string, string> = baseHeaders(body, secret);
    delete headers['x-github-event'];
    return { kind: 'missing X-GitHub-Event', headers, body };
  });

  return fc.oneof(
    { arbitrary: typeConfused, weight: 6 },
    { arbitrary: malformed, weight: 3 },
    { arbitrary: notAnObject, weight: 1 },
    { arbitrary: misSigned, weight: 4 },
    { arbitrary: bodyTampered, weight: 1 },
    { arbitrary: oversized, weight: 1 },
    { arbitrary: noEvent, weight: 1 },
  );
}
