// Which gateway code a result belongs to: the commit, and the src/ files changed on top of it
// (the gateway is often measured mid-change). Read-only git: --no-optional-locks keeps
// `git status` from refreshing the index.
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from './child.js';

export function codeVersion(): { commit: string; dirty: string[] } {
  // trimEnd only: a porcelain line starts with a status column that may be a space
  const git = (...args: string[]) => execFileSync('git', ['--no-optional-locks', '-C', REPO_ROOT, ...args], { encoding: 'utf8' }).trimEnd();
  try {
    const dirty = git('status', '--porcelain', '--', 'src', 'bin', 'package.json')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    return { commit: git('rev-parse', '--short', 'HEAD'), dirty };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}
