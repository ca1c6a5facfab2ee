import { describe, expect, it } from 'vitest';
import { baseName, formatBytes, modeProblem, percent, remotePathProblem, uploadTarget } from './files';

describe('remotePathProblem', () => {
  it('takes an absolute file path', () => expect(remotePathProblem('/etc/app/config.yml')).toBeNull());
  it('says what is wrong like the server', () => {
    expect(remotePathProblem('')).toBe('is required');
    expect(remotePathProblem('notes.txt')).toBe('must be absolute (start with /)');
    expect(remotePathProblem('/tmp/')).toBe('must name a file, not end with /');
    expect(remotePathProblem('/a\0b')).toBe('must not contain NUL characters');
    expect(remotePathProblem(`/${'a'.repeat(4096)}`)).toBe('must be at most 4096 characters');
  });
});

describe('modeProblem', () => {
  it.each(['', '644', '0644', '755', '0600'])('takes %j', (mode) => expect(modeProblem(mode)).toBeNull());
  it.each(['8', '0888', 'rw-r--r--', '00644', '64'])('refuses %j', (mode) => expect(modeProblem(mode)).not.toBeNull());
});

describe('uploadTarget', () => {
  it('adds the local name to a directory', () => expect(uploadTarget('/srv/data/', 'a.csv')).toBe('/srv/data/a.csv'));
  it('keeps a file path as given', () => expect(uploadTarget(' /srv/data/b.csv ', 'a.csv')).toBe('/srv/data/b.csv'));
});

describe('baseName', () => {
  it('is the last part of the path', () => expect(baseName('/var/log/app/today.log')).toBe('today.log'));
  it('ignores dot parts and repeated slashes', () => expect(baseName('/var//log/./x.tar.gz')).toBe('x.tar.gz'));
  it('falls back when the path has no name', () => expect(baseName('/')).toBe('download'));
});

describe('formatBytes', () => {
  it('shows bytes, KiB, MiB and GiB', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});

describe('percent', () => {
  it('is whole and capped', () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 4)).toBe(100);
  });
  it('is unknown without a total', () => {
    expect(percent(10, null)).toBeNull();
    expect(percent(10, 0)).toBeNull();
  });
});
