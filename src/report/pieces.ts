import type { Writable } from 'node:stream';

/**
 * A report as pieces whose concatenation is the whole. Written piece by piece, the report of a
 * large run never becomes one string: V8 caps a string at 512 MiB, which the JSON report of a
 * first sync of 100,000 files to some 45 remotes passes.
 */
export type Pieces = Iterable<string>;

/** The pieces gathered into strings of about `size` characters: few writes, none huge. */
export function* batches(pieces: Pieces, size = 1 << 20): Generator<string> {
  let batch: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    batch.push(piece);
    length += piece.length;
    if (length >= size) {
      yield batch.join('');
      batch = [];
      length = 0;
    }
  }
  if (length > 0) yield batch.join('');
}

/**
 * Writes the pieces as fast as the reader takes them: node queues what a pipe cannot take at
 * once, and a report of hundreds of MB would wait whole in memory for a slow reader. A stream
 * closed meanwhile (the reader gone: EPIPE) takes no more.
 */
export async function writePieces(out: Writable, pieces: Pieces, size?: number): Promise<void> {
  for (const chunk of batches(pieces, size)) {
    if (out.destroyed) return;
    if (out.write(chunk)) continue;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
    });
  }
}
