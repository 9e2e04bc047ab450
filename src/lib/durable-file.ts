import { open } from 'node:fs/promises';

/**
 * fsync on a directory makes a file's creation or removal durable (POSIX leaves the
 * directory entry in the page cache until then). Linux allows it on a read-only handle.
 */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
