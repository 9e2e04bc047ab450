import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DirectoryError } from '../model/directory-error.js';

export interface FieldProblem {
  field: string;
  problem: string;
}

/** RFC 9457 problem details, with the fields at fault. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}

const STATUS: Record<DirectoryError['code'], { status: number; title: string }> = {
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  limit: { status: 409, title: 'Limit reached' },
  invalid: { status: 422, title: 'Invalid value' },
  unconfirmed: { status: 409, title: 'Confirmation required' },
};

export function sendProblem(reply: FastifyReply, problem: Omit<Problem, 'type'> & { type?: string }): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: problem.type ?? 'about:blank', ...problem });
}

/** One renderer for every error an API route can end with. */
export function problemHandler(error: FastifyError | DirectoryError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DirectoryError) {
    const { status, title } = STATUS[error.code];
    return sendProblem(reply, { status, title, detail: error.message, ...(error.field ? { errors: [{ field: error.field, problem: error.message }] } : {}) });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const where = fastifyError.validationContext === 'querystring' ? 'query.' : fastifyError.validationContext === 'params' ? 'path.' : '';
    const errors = fastifyError.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const missing = typeof v.params?.missingProperty === 'string' ? v.params.missingProperty : '';
      const field = [path, missing].filter(Boolean).join('.') || '(request)';
      return { field: `${where}${field}`, problem: v.message ?? 'is not valid' };
    });
    return sendProblem(reply, { status: 400, title: 'Invalid request', detail: errors.map((e) => `${e.field} ${e.problem}`).join('; '), errors });
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return sendProblem(reply, { status: fastifyError.statusCode, title: 'Bad request', detail: fastifyError.message });
  }
  request.log.error({ err: error }, 'API request failed');
  return sendProblem(reply, { status: 500, title: 'Internal error', detail: 'the gateway could not complete this request; see its log' });
}
