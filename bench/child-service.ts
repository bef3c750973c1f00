import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Messages between the bench and a helper process: one request, one answer, matched by id. */
interface RequestMessage {
  id: number;
  op: string;
  args: unknown;
}
interface AnswerMessage {
  id: number;
  result?: unknown;
  error?: string;
}
interface ReadyMessage {
  ready: unknown;
}

export interface ChildService<Ready> {
  readonly ready: Ready;
  readonly pid: number;
  call<T>(op: string, args?: unknown): Promise<T>;
  close(): Promise<void>;
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Forks `module` (a TypeScript file run through tsx) and waits for its ready message. Why separate
 * processes: the store and GitHub are remote services in production; running dynalite, the simulator and
 * the load generator beside the server (on the machine's other core) keeps their CPU out of the server's
 * event loop, which is what the server would see in AWS.
 */
export async function startChild<Ready>(
  module: URL,
  options: { cpuProfDir?: string; env?: Record<string, string> } = {},
): Promise<ChildService<Ready>> {
  const execArgv = ['--import', tsxLoader];
  if (options.cpuProfDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const child: ChildProcess = fork(fileURLToPath(module), [], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`helper ${module.pathname} exited`));
    pending.clear();
  });

  const ready = await new Promise<Ready>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (message && typeof message === 'object' && 'ready' in message) {
        child.off('message', onMessage);
        resolve((message as ReadyMessage).ready as Ready);
      }
    };
    child.on('message', onMessage);
    child.once('error', reject);
    void exit.then(() => reject(new Error(`helper ${module.pathname} exited before it was ready`)));
  });

  child.on('message', (message: unknown) => {
    const answer = message as AnswerMessage;
    const p = pending.get(answer.id);
    if (!p) return;
    pending.delete(answer.id);
    if (answer.error !== undefined) p.reject(new Error(answer.error));
    else p.resolve(answer.result);
  });

  return {
    ready,
    pid: child.pid as number,
    call<T>(op: string, args?: unknown): Promise<T> {
      if (exited) return Promise.reject(new Error(`helper ${module.pathname} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, args } satisfies RequestMessage);
      });
    },
    async close() {
      if (exited) return;
      child.send({ id: 0, op: 'close', args: undefined } satisfies RequestMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

type Handlers = Record<string, (args: never) => unknown>;

/**
 * The helper side: announce `ready`, answer requests with `handlers`, run `onClose` and exit on `close`
 * (or when the bench process goes away).
 */
export function serveParent(ready: unknown, handlers: Handlers, onClose: () => Promise<void>): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this module runs as a bench helper process (forked with IPC)');
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await onClose().catch(() => undefined);
    if (process.connected) process.disconnect?.();
    process.exit(0);
  };
  process.on('disconnect', () => void shutdown());
  process.on('message', (message: RequestMessage) => {
    if (message.op === 'close') {
      void shutdown();
      return;
    }
    const handler = handlers[message.op];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${message.op}`);
        return handler(message.args as never);
      })
      .then(
        (result) => send({ id: message.id, result } satisfies AnswerMessage),
        (error: unknown) =>
          send({
            id: message.id,
            error: error instanceof Error ? error.message : String(error),
          } satisfies AnswerMessage),
      );
  });
  send({ ready } satisfies ReadyMessage);
}
