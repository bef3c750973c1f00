// A fresh process, as Lambda starts one: import the handler bundle, answer one event, report the times.
// Plain JavaScript run by plain `node` (no tsx), so nothing but the bundle is loaded.
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [bundle, eventFile, resultFile] = process.argv.slice(2);
const event = JSON.parse(await readFile(eventFile, 'utf8'));
const context = { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 60_000 };

const bootMs = performance.now();
const started = performance.now();
let result;
let error;
let importMs = Number.NaN;
try {
  const mod = await import(pathToFileURL(bundle).href);
  importMs = performance.now() - started;
  result = await mod.handler(event, context);
} catch (e) {
  error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
const totalMs = performance.now() - started;
writeFileSync(resultFile, JSON.stringify({ bootMs, importMs, totalMs, result, error }));
// Lambda freezes the sandbox here; a bench process just ends (open keep-alive sockets would hold it).
process.exit(0);
