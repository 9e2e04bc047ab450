/** One thing wrong with the configuration, said so that an operator can fix it at once. */
export interface ConfigProblem {
  key: string;
  source: string;
  value?: unknown;
  problem: string;
  fix: string;
}

/** Exit status for a configuration error (sysexits.h EX_CONFIG). */
export const EX_CONFIG = 78;

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function formatProblem(p: ConfigProblem): string {
  const value = p.value === undefined ? '' : ` = ${JSON.stringify(p.value)}`;
  return `  ${p.key}${value} (from ${p.source}): ${p.problem}\n    fix: ${p.fix}`;
}
