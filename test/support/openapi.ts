import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const require = createRequire(import.meta.url);

interface Operation {
  requestBody?: { content?: { 'application/json'?: { schema?: object } } };
  responses?: Record<string, { content?: { 'application/json'?: { schema?: object } } }>;
}

/** GitHub's OpenAPI description (dereferenced) from @octokit/openapi. */
const spec = require('@octokit/openapi/generated/api.github.com.deref.json') as {
  paths: Record<string, Record<string, Operation>>;
};

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);

function operation(method: string, pathTemplate: string): Operation {
  const op = spec.paths[pathTemplate]?.[method.toLowerCase()];
  if (!op) throw new Error(`no ${method} ${pathTemplate} in GitHub's OpenAPI description`);
  return op;
}

/** Validation errors of a request body against the operation's schema (empty array = valid). */
export function requestBodyErrors(method: string, pathTemplate: string, body: unknown): string[] {
  const schema = operation(method, pathTemplate).requestBody?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${pathTemplate} has no JSON request body`);
  const validate = ajv.compile(schema);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
