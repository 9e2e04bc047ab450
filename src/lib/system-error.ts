import { getSystemErrorMap } from 'node:util';

/** An error from a system call (fs, net): Node gives it a code such as EACCES and, for files, the path. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

const WORDS = new Map([...getSystemErrorMap().values()].map(([name, message]) => [name, message]));

/** "permission denied (EACCES)": the words an operator reads, and the code to search for. */
export function errnoInWords(code: string | undefined): string {
  if (!code) return 'an unknown error';
  const words = WORDS.get(code);
  return words ? `${words} (${code})` : code;
}
