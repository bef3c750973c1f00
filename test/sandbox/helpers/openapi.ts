import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Validates values against GitHub's OpenAPI description (`@octokit/openapi`, api.github.com), resolving
 * `$ref`s through the document's own `components`.
 */
interface Operation {
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> } & Record<
    string,
    unknown
  >;
  'x-webhooks': unknown;
}

const require = createRequire(import.meta.url);
let spec: Spec | undefined;
let ajv: Ajv | undefined;
const cache = new Map<string, ValidateFunction>();

function load(): { spec: Spec; ajv: Ajv } {
  if (!spec || !ajv) {
    spec = JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8')) as Spec;
    ajv = new Ajv({ strict: false, allErrors: true });
    const addFormats = addFormatsModule as unknown as (a: Ajv) => void;
    addFormats(ajv);
    ajv.addSchema(normaliseNullable({ $id: 'github', components: spec.components }) as object);
  }
  return { spec, ajv };
}

function compile(key: string, schema: unknown): ValidateFunction {
  let fn = cache.get(key);
  if (!fn) {
    fn = load().ajv.compile(rebase(schema) as object);
    cache.set(key, fn);
  }
  return fn;
}

/** Inline schemas in `paths` use `#/components/...` refs; point them at the registered document. */
function rebase(schema: unknown): unknown {
  return normaliseNullable(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"github#/components/')));
}

/**
 * OpenAPI 3.0 `nullable: true` as Ajv understands it: Ajv refuses `nullable` without `type` and checks
 * `enum` before `nullable`, so null is added to such enums and type-less nullable schemas become `anyOf`.
 */
function normaliseNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normaliseNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = normaliseNullable(v);
  if (out.nullable === true) {
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (out.type === undefined) {
      const { nullable: _n, ...rest } = out;
      return { anyOf: [{ type: 'null' }, rest] };
    }
  }
  return out;
}

export interface Validation {
  valid: boolean;
  errors: string;
}

function run(fn: ValidateFunction, value: unknown): Validation {
  const valid = fn(value) === true;
  return { valid, errors: valid ? '' : JSON.stringify(fn.errors?.slice(0, 5)) };
}

/** Against `#/components/schemas/<name>`. */
export function validateSchema(name: string, value: unknown): Validation {
  return run(compile(`schema:${name}`, { $ref: `github#/components/schemas/${name}` }), value);
}

/** Against the JSON response schema of `METHOD path` for `status`. */
export function validateResponse(method: string, path: string, status: number, value: unknown): Validation {
  const op = load().spec.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`no operation ${method} ${path} in the OpenAPI description`);
  let response = op.responses?.[String(status)];
  if (!response) throw new Error(`${method} ${path} documents no ${status} response`);
  if (response.$ref) {
    const name = response.$ref.replace('#/components/responses/', '');
    const resolved = load().spec.components.responses[name];
    if (!resolved) throw new Error(`unresolved ${response.$ref}`);
    response = resolved;
  }
  const schema = response.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} ${status} has no JSON schema`);
  return run(compile(`response:${method} ${path} ${status}`, schema), value);
}

/** Against the JSON request body schema of `METHOD path`. */
export function validateRequestBody(method: string, path: string, value: unknown): Validation {
  const op = load().spec.paths[path]?.[method.toLowerCase()];
  const schema = op?.requestBody?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} has no JSON request body schema`);
  return run(compile(`request:${method} ${path}`, schema), value);
}

/** The property names a request body schema declares. */
export function requestBodyProperties(method: string, path: string): string[] {
  const op = load().spec.paths[path]?.[method.toLowerCase()];
  const schema = op?.requestBody?.content?.['application/json']?.schema as { properties?: object } | undefined;
  return Object.keys(schema?.properties ?? {});
}

/** Against a webhook payload schema, e.g. `webhook-workflow-job-queued`. */
export function validateWebhook(
  action: 'queued' | 'waiting' | 'in_progress' | 'completed',
  value: unknown,
): Validation {
  const name = `webhook-workflow-job-${action.replace('_', '-')}`;
  return validateSchema(name, value);
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { type?: string };
}

/** The operation's parameters with `#/components/parameters/…` refs resolved. */
function parameters(method: string, path: string): Parameter[] {
  const { spec } = load();
  const op = spec.paths[path]?.[method.toLowerCase()] as (Operation & { parameters?: unknown[] }) | undefined;
  if (!op) throw new Error(`no operation ${method} ${path} in the OpenAPI description`);
  const components = spec.components as unknown as { parameters: Record<string, Parameter> };
  return (op.parameters ?? []).map((p) => {
    const ref = (p as { $ref?: string }).$ref;
    if (!ref) return p as Parameter;
    const resolved = components.parameters[ref.replace('#/components/parameters/', '')];
    if (!resolved) throw new Error(`unresolved ${ref}`);
    return resolved;
  });
}

/**
 * Checks a request's query string against `METHOD path`: every name is a documented query parameter and
 * every value (a string on the wire, coerced for integer/boolean schemas) validates against its schema.
 */
export function validateQuery(method: string, path: string, query: URLSearchParams): Validation {
  const declared = new Map(
    parameters(method, path)
      .filter((p) => p.in === 'query')
      .map((p) => [p.name, p]),
  );
  const problems: string[] = [];
  for (const [name, text] of query) {
    const parameter = declared.get(name);
    if (!parameter) {
      problems.push(`${name} is not a query parameter of ${method} ${path}`);
      continue;
    }
    const type = parameter.schema?.type;
    const value: unknown =
      type === 'integer' || type === 'number'
        ? Number(text)
        : type === 'boolean'
          ? text === 'true'
            ? true
            : text === 'false'
              ? false
              : text
          : text;
    const result = run(compile(`query:${method} ${path} ${name}`, parameter.schema ?? {}), value);
    if (!result.valid) problems.push(`${name}=${text}: ${result.errors}`);
  }
  return { valid: problems.length === 0, errors: problems.join('; ') };
}
