import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './tables.js';

/** Where a value goes in a statement built once: the builder sees these in place of the values. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * The SQL of every shape compiled so far: PostgreSQL connections prepare these as named
 * statements (postgres/open.ts). A fixed set, as the shapes are; no `select *` among them,
 * whose plan a migration of another instance could invalidate.
 */
export const preparedSql = new Set<string>();

interface Shape {
  compiled: CompiledQuery;
  /** Per parameter of the compiled SQL: the name of the value that fills it, or a constant the builder wrote. */
  fill: ({ name: string } | { constant: unknown })[];
}

/**
 * A statement of the message path built and compiled once per dialect, then run with new
 * values: Kysely builds a whole operation tree and compiles it to SQL for every execution,
 * ~20-40 µs of the event loop per statement, for SQL text that never changes. Each engine
 * then prepares the text once as well (the SQLite thread keeps prepared statements by text,
 * PostgreSQL gets named statements from the pool, src/store/postgres).
 *
 * `build` must give the same SQL whatever the values: it may not branch on them, and every
 * value it uses must be one of `names` (a list's length is part of the shape: key on it with
 * `variant`). Values are passed as they are bound: null, never undefined.
 */
export function prepared<V extends object, R = unknown>(
  names: readonly (keyof V & string)[],
  build: (db: Kysely<Database>, values: V) => Compilable<R>,
): (db: Kysely<Database>, values: V, variant?: string | number) => Promise<QueryResult<R>> {
  const shapes = new WeakMap<object, Map<string | number, Shape>>();
  return async (db, values, variant = '') => {
    const adapter = db.getExecutor().adapter;
    let byVariant = shapes.get(adapter);
    if (!byVariant) {
      byVariant = new Map();
      shapes.set(adapter, byVariant);
    }
    let shape = byVariant.get(variant);
    if (!shape) {
      shape = compileShape(db, names, build);
      byVariant.set(variant, shape);
    }
    // A value not named would be dropped without a word: the SQL was built without it.
    if (Object.keys(values).length !== names.length) throw new Error(`prepared statement: values must be exactly ${names.join(', ')}`);
    const given = values as Record<string, unknown>;
    const parameters = shape.fill.map((f) => {
      if ('constant' in f) return f.constant;
      const value = given[f.name];
      if (value === undefined) throw new Error(`prepared statement: no value for ${f.name}`);
      return value;
    });
    return db.executeQuery<R>({ ...shape.compiled, parameters } as CompiledQuery<R>);
  };
}

function compileShape<V extends object>(
  db: Kysely<Database>,
  names: readonly string[],
  build: (db: Kysely<Database>, values: V) => Compilable<unknown>,
): Shape {
  const slots = Object.fromEntries(names.map((name) => [name, new Slot(name)])) as V;
  const compiled = build(db, slots).compile();
  const fill = compiled.parameters.map((p) => (p instanceof Slot ? { name: p.name } : { constant: p }));
  const used = new Set(fill.flatMap((f) => ('name' in f ? [f.name] : [])));
  const unused = names.filter((n) => !used.has(n));
  // A value the SQL does not bind was folded into the text (or dropped): the shape would then depend on it.
  if (unused.length > 0) throw new Error(`prepared statement: ${unused.join(', ')} not bound as parameters`);
  preparedSql.add(compiled.sql);
  return { compiled, fill };
}
