/**
 * Typed errors that always say where: the endpoint (host and root) and, when there is one, the
 * path. `code` is the errno-style code when the cause is a system call (ENOENT, EACCES, ...).
 */
export class ReplisyncError extends Error {
  constructor(
    message: string,
    readonly where: string,
    readonly path?: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  override toString(): string {
    return describe(this);
  }
}

/** A problem with one path: the run goes on with the others; the path is reported. */
export class PathError extends ReplisyncError {}

/** The endpoint as a whole cannot go on (unreachable, root missing, connection lost). */
export class EndpointError extends ReplisyncError {}

/** Bad input from the user (options, endpoints, config): nothing has been changed anywhere. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const CODE_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  ELOOP: 'too many symbolic links',
  EXDEV: 'cross-device link',
  EIO: 'input/output error',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'out of memory',
};

/**
 * ENOENT, ENOTDIR, ELOOP: the path, or a directory on the way to it, was removed or replaced (by a
 * file, or by a symlink that O_NOFOLLOW or a parent check refuses) since it was last looked at.
 */
export function movedAway(code: string | undefined): boolean {
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

/**
 * Why something failed: a system call's reason without Node's decoration; an error of our own
 * wording (one that carries a code for the caller to decide by) as it is worded.
 */
export function reasonOf(err: unknown): string {
  const code = errnoCode(err);
  const fromSystem = (err as { syscall?: unknown } | null)?.syscall !== undefined;
  if (code && fromSystem) {
    if (CODE_TEXT[code]) return `${CODE_TEXT[code]} (${code})`;
    // Node's "CODE: reason, syscall 'path'": the path is named by whoever tells the error.
    const reason = /^[A-Z0-9_]+: (.+?), [a-z_0-9]+(?: '.*)?$/s.exec((err as Error).message)?.[1];
    if (reason) return `${reason} (${code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function describe(err: ReplisyncError): string {
  const at = err.path !== undefined ? `${err.where}: ${err.path}` : err.where;
  return `${at}: ${err.message}`;
}
