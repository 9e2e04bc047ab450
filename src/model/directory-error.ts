export type DirectoryErrorCode = 'not_found' | 'conflict' | 'limit' | 'invalid' | 'unconfirmed';

/**
 * A refusal of the administrative model, named so that every interface can render it:
 * the API as problem+json naming the field, the CLI as one line with the next step.
 */
export class DirectoryError extends Error {
  readonly code: DirectoryErrorCode;
  /** The request field at fault, in the API's spelling (`name`, `aliases.1`). */
  readonly field: string | undefined;

  constructor(code: DirectoryErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'DirectoryError';
    this.code = code;
    this.field = field;
  }
}

export const notFound = (what: string, id: string) => new DirectoryError('not_found', `no ${what} ${id}`);
export const invalid = (field: string, message: string) => new DirectoryError('invalid', message, field);

/**
 * A change that would take mail out of `secure` (issue 19: dangerous changes ask first). Nothing
 * was changed; each interface asks in its own way (CLI --yes or a prompt, API ?confirm=true, a
 * console confirmation page) and repeats the change confirmed.
 */
export class ConfirmationRequired extends DirectoryError {
  /** The consequence in words, e.g. "mail from secure.example.com will then leave as plain mail, not as secure messages". */
  readonly consequence: string;

  constructor(consequence: string) {
    super('unconfirmed', `${consequence}; confirm the change to go ahead`, 'confirm');
    this.name = 'ConfirmationRequired';
    this.consequence = consequence;
  }
}
