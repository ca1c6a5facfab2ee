import type { GitStatus } from '../api/types';

/** "main ↑2 ↓1 (origin/main)" — the branch line of a status, as a person reads it. */
export function describeBranch(status: GitStatus): string {
  const name = status.detached ? `detached at ${status.head?.slice(0, 7) ?? '?'}` : status.branch ?? '(no branch)';
  const counts = [status.ahead ? `↑${status.ahead}` : '', status.behind ? `↓${status.behind}` : ''].filter(Boolean).join(' ');
  const upstream = status.upstream ? `(${status.upstream})` : '(no upstream)';
  return [name, counts, upstream].filter(Boolean).join(' ');
}

/** The short letters of a path's state, as `git status --short` shows them: index, then worktree. */
export function shortState(index: string, worktree: string): string {
  const letter: Record<string, string> = {
    unmodified: '.', modified: 'M', type_changed: 'T', added: 'A', deleted: 'D', renamed: 'R', copied: 'C', unmerged: 'U', untracked: '?', ignored: '!',
  };
  return `${letter[index] ?? '?'}${letter[worktree] ?? '?'}`;
}
