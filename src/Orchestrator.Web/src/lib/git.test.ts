import { describe, expect, it } from 'vitest';
import type { GitStatus } from '../api/types';
import { describeBranch, shortState } from './git';

const status = (over: Partial<GitStatus>): GitStatus => ({ branch: 'main', head: 'abcdef0123', detached: false, upstream: 'origin/main', ahead: 0, behind: 0, clean: true, files: [], conflicts: [], ...over });

describe('describeBranch', () => {
  it('shows ahead and behind against the upstream', () => expect(describeBranch(status({ ahead: 2, behind: 1 }))).toBe('main ↑2 ↓1 (origin/main)'));
  it('says when there is no upstream', () => expect(describeBranch(status({ upstream: null, ahead: null, behind: null }))).toBe('main (no upstream)'));
  it('shows a detached head by its commit', () => expect(describeBranch(status({ branch: null, detached: true }))).toBe('detached at abcdef0 (origin/main)'));
});

describe('shortState', () => {
  it('uses git status letters', () => {
    expect(shortState('modified', 'unmodified')).toBe('M.');
    expect(shortState('untracked', 'untracked')).toBe('??');
    expect(shortState('unmerged', 'unmerged')).toBe('UU');
  });
});
