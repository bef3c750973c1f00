import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../ports/store.ts';
import { createLocalDynamoClient } from '../dynamodb/local-client.ts';

export interface EmbeddedDynamoOptions {
  /** LevelDB directory; created if missing. Undefined = in memory (lost on close). */
  dir?: string;
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1: the store has no authentication, so it never listens on other interfaces by default. */
  host?: string;
}

export interface EmbeddedDynamo {
  /** `http://host:port`, for `createLocalDynamoClient`. */
  endpoint: string;
  /**
   * Stops listening and closes the database (flushed to `dir`). Requests in flight get up to
   * `graceMs` (default 2 s) to finish; `graceMs: 0` drops every connection at once (a crash, in tests).
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}

// dynalite is CommonJS without type declarations; `require` keeps the untyped import in this one place.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;
// The LevelDB binding dynalite itself uses (resolved from dynalite, so always the same version).
const { Level } = createRequire(require.resolve('dynalite'))('level') as {
  Level: new (path: string, options: { valueEncoding: string }) => LevelDatabase;
};

/**
 * Opens and closes the database once before dynalite does. Why: dynalite opens lazily and, when the open
 * fails (another `npm start` holds the LevelDB lock on the same STATE_DIR), throws from a callback on the
 * first request and takes the whole process down. Checking first turns that into one clear start-up error.
 */
async function checkDatabaseOpens(dir: string): Promise<void> {
  const db = new Level(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (error) {
    throw new StoreError(`cannot open the embedded store in ${dir}: is another jit-runners process using it?`, {
      cause: error,
    });
  } finally {
    await db.close().catch(() => {});
  }
}

/**
 * Runs dynalite (a DynamoDB-compatible server on LevelDB) inside this process. Supported and relied on:
 * conditional writes, UpdateItem with ReturnValues, list_append/if_not_exists, ADD on string sets, sparse
 * global secondary indexes, DescribeTimeToLive. Not supported: UpdateTimeToLive (so expired items stay until
 * overwritten — every condition uses its own expiry, never TTL) and transactions (unused).
 */
export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions = {}): Promise<EmbeddedDynamo> {
  const host = options.host ?? '127.0.0.1';
  const dynaliteOptions: DynaliteOptions = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.dir !== undefined) {
    const dir = resolve(options.dir);
    mkdirSync(dir, { recursive: true });
    await checkDatabaseOpens(dir);
    dynaliteOptions.path = dir;
  }
  const server = dynalite(dynaliteOptions);
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpointHost = host.includes(':') ? `[${host}]` : host;
  const endpoint = `http://${endpointHost}:${port}`;
  // dynalite opens LevelDB lazily; one request makes it take the directory's lock before we return, so a
  // second process started later fails the check above instead of racing this one.
  const warmUp = createLocalDynamoClient(endpoint, { maxAttempts: 1 });
  try {
    await warmUp.send(new ListTablesCommand({ Limit: 1 }));
  } catch (error) {
    server.close();
    throw new StoreError(`the embedded store at ${endpoint} did not answer`, { cause: error });
  } finally {
    warmUp.destroy();
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    close(closeOptions = {}) {
      closing ??= new Promise<void>((resolveClose, rejectClose) => {
        const grace = setTimeout(() => server.closeAllConnections(), closeOptions.graceMs ?? 2_000);
        server.close((error?: Error) => {
          clearTimeout(grace);
          if (error) rejectClose(error);
          else resolveClose();
        });
        // Keep-alive clients hold idle sockets open; without this, close would wait for them to time out.
        // Why the grace timer as well: a client under steady load keeps its sockets busy, so they are
        // never idle and the old server would go on answering on them while refusing every new connection.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
