/**
 * What the store's SQLite thread is asked (sqlite-thread.ts) and what it answers (thread-dialect.ts):
 * each message is a batch of requests, answered by one message with their replies in order
 * (the opening's reply, id 0, is a batch of one).
 */

export interface ThreadOptions {
  path: string;
  /** How long a statement waits for another process's lock before failing with SQLITE_BUSY. */
  busyTimeoutMs: number;
}

export type ThreadRequest =
  | { id: number; op: 'query'; sql: string; parameters: readonly unknown[] }
  /** The bytes the thread has had written to storage so far: its rows are `[{ writeBytes }]`, null where Linux's /proc does not tell. */
  | { id: number; op: 'io' }
  | { id: number; op: 'close' };

export type ThreadReply =
  | { id: number; rows: unknown[] }
  | { id: number; rows: []; changes: number | bigint; lastInsertRowid: number | bigint }
  | { id: number; error: { message: string; code?: string } };
