/**
 * The database could not be reached or set up: said with the URL (password hidden) and what
 * the server answered. A module of its own so that main.ts can tell it apart without loading pg.
 */
export class StoreUnavailable extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'StoreUnavailable';
  }
}
