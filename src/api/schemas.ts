import { Type } from 'typebox';

/** Every list takes ?limit and ?offset and answers with the same envelope. */
export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'at most this many items' }),
  offset: Type.Integer({ minimum: 0, default: 0, description: 'skip this many items' }),
});

export const pageOf = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer({ description: 'items in all pages' }),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), problem: Type.String() }))),
  },
  { description: 'RFC 9457 problem details' },
);

/** Times in the API are RFC 3339 strings; null when the event has not happened. */
export const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export const errorResponses = {
  400: ProblemSchema,
  401: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  422: ProblemSchema,
};
