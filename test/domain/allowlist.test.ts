import { describe, expect, it } from 'vitest';
import { isAllowed, isRepositoryEntry, isValidAllowlistEntry } from '../../functions/domain/allowlist.ts';

describe('isAllowed', () => {
  it.each([
    { list: [], owner: 'any', repo: 'thing', allowed: true, why: 'an empty list serves every repository' },
    { list: ['octo-org/app'], owner: 'octo-org', repo: 'app', allowed: true, why: 'the exact repository is listed' },
    { list: ['octo-org/app'], owner: 'Octo-Org', repo: 'APP', allowed: true, why: 'names compare case-insensitively' },
    {
      list: ['octo-org/app'],
      owner: 'octo-org',
      repo: 'other',
      allowed: false,
      why: 'another repo of the owner is not',
    },
    { list: ['octo-org/*'], owner: 'octo-org', repo: 'other', allowed: true, why: 'owner/* serves the whole owner' },
    {
      list: ['octo-org/*'],
      owner: 'octo-org2',
      repo: 'x',
      allowed: false,
      why: 'a prefix of the owner is not the owner',
    },
  ])('is $allowed when $why', ({ list, owner, repo, allowed }) => {
    expect(isAllowed(list, owner, repo)).toBe(allowed);
  });
});

describe('isValidAllowlistEntry', () => {
  it.each([
    ['octo/app', true],
    ['octo/*', true],
    ['octo', false],
    ['*/app', false],
    ['octo/app/extra', false],
  ])('%s is valid: %s', (entry, valid) => {
    expect(isValidAllowlistEntry(entry)).toBe(valid);
  });
});

describe('isRepositoryEntry', () => {
  it.each([
    ['octo/app', true],
    ['Octo-Org/app.js', true],
    ['octo/*', false],
    ['octo', false],
    ['octo/app/extra', false],
  ])('%s names one repository: %s', (entry, valid) => {
    expect(isRepositoryEntry(entry)).toBe(valid);
  });
});
