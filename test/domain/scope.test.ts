import { describe, expect, it } from 'vitest';
import { parseScope, scopeForRepository, scopeKey, scopeUrl } from '../../functions/domain/scope.ts';

describe('scope', () => {
  it('keys a repository scope as lower-case owner/repo', () => {
    expect(scopeKey(scopeForRepository('repo', 'Octo-Org', 'App'))).toBe('octo-org/app');
  });
  it('keys an organization scope by the owner alone', () => {
    expect(scopeKey(scopeForRepository('org', 'Octo-Org', 'App'))).toBe('octo-org');
  });
  it('builds the config.sh --url for both kinds, GHES included', () => {
    expect(scopeUrl('https://github.com/', { kind: 'repo', owner: 'o', repo: 'r' })).toBe('https://github.com/o/r');
    expect(scopeUrl('https://ghes.example.com', { kind: 'org', org: 'o' })).toBe('https://ghes.example.com/o');
  });
  it.each([
    ['octo/app', { kind: 'repo', owner: 'octo', repo: 'app' }],
    ['octo', { kind: 'org', org: 'octo' }],
    ['octo/app/x', undefined],
    ['', undefined],
    ['bad name', undefined],
  ])('parses %j', (text, scope) => {
    expect(parseScope(text)).toEqual(scope);
  });
});
