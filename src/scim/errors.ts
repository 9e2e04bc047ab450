import type { FastifyReply } from 'fastify';
import { DirectoryError } from '../model/directory-error.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12: SCIM clients read `scimType` and `detail`, not problem+json. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: string,
  ) {
    super(message);
    this.name = 'ScimError';
  }
}

const FROM_DIRECTORY: Record<DirectoryError['code'], { status: number; scimType?: string }> = {
  not_found: { status: 404 },
  conflict: { status: 409, scimType: 'uniqueness' },
  limit: { status: 409, scimType: 'tooMany' },
  invalid: { status: 400, scimType: 'invalidValue' },
  unconfirmed: { status: 409 },
};

export function sendScimError(reply: FastifyReply, error: unknown): FastifyReply {
  let status = 500;
  let scimType: string | undefined;
  let detail = 'internal error';
  if (error instanceof ScimError) ({ status, scimType, message: detail } = error);
  else if (error instanceof DirectoryError) {
    ({ status, scimType } = FROM_DIRECTORY[error.code]);
    detail = error.field ? `${error.field}: ${error.message}` : error.message;
  } else if ((error as { statusCode?: number }).statusCode === 400) {
    status = 400;
    scimType = 'invalidSyntax';
    detail = `the request body is not valid JSON: ${(error as Error).message}`;
  }
  return reply
    .code(status)
    .type('application/scim+json')
    .send({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });
}
