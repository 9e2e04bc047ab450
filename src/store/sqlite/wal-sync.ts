import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

/**
 * fdatasync of SQLite's WAL file from a descriptor of our own. fsync acts on the file, not
 * the descriptor, so this flushes the frames every connection has appended, in libuv's
 * thread pool rather than on the event loop. SQLite replaces the WAL file only when the
 * last connection closes; the inode is checked anyway, so a replaced file is reopened.
 */
export function walSyncer(path: string) {
  let fd: number | undefined;
  let ino: number | undefined;

  function current(): number {
    const onDisk = statSync(path).ino;
    if (fd === undefined || ino !== onDisk) {
      if (fd !== undefined) closeSync(fd);
      fd = openSync(path, 'r');
      ino = fstatSync(fd).ino;
    }
    return fd;
  }

  return {
    sync(): Promise<void> {
      return new Promise((resolve, reject) => {
        let descriptor: number;
        try {
          descriptor = current();
        } catch (err) {
          // No WAL file: everything is already checkpointed into the (synced) database file.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve();
          return reject(err);
        }
        fdatasync(descriptor, (err) => (err ? reject(err) : resolve()));
      });
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
