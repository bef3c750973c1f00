import { gzipSync } from 'node:zlib';

/** One entry of a tar archive: a directory (name ending in `/`) or a regular file. */
export interface TarEntry {
  /** Relative path with `/` separators, at most 100 bytes (ustar's name field without a prefix). */
  name: string;
  /** File contents; absent for a directory. */
  data?: Uint8Array;
  /** Permission bits, e.g. 0o755. */
  mode: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as GNU tar writes them.
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, size: number, mtimeSeconds: number): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  if (name.length > 100) throw new RangeError(`tar entry name longer than 100 bytes: ${entry.name}`);
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0);
  block.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid
  block.write(octal(0, 8), 116, 'ascii'); // gid
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(mtimeSeconds, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  block.write(entry.data === undefined ? '5' : '0', 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  block.write('runner', 265, 'ascii'); // uname
  block.write('runner', 297, 'ascii'); // gname
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/**
 * A gzip-compressed ustar archive of `entries`, in the given order. Deterministic: the same entries and
 * `mtimeSeconds` give the same bytes (owner 0/0, no gzip timestamp), so a digest is reproducible.
 * Enough for the simulator's runner packages; not a general tar library (no long names, links or
 * special files).
 */
export function gzipTar(entries: readonly TarEntry[], mtimeSeconds = 0): Uint8Array {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const size = entry.data?.byteLength ?? 0;
    parts.push(header(entry, size, mtimeSeconds));
    if (entry.data !== undefined) {
      parts.push(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return new Uint8Array(gzipSync(Buffer.concat(parts), { level: 9 }));
}
