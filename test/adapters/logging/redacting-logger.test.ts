import { describe, expect, it } from 'vitest';
import {
  createRedactingLogger,
  MAX_MINTED_SECRETS,
  REDACTED,
  SecretRegistry,
} from '../../../functions/adapters/logging/redacting-logger.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';

const JIT_CONFIG = Buffer.from(
  JSON.stringify({ '.runner': 'r'.repeat(300), '.credentials': 'c'.repeat(300) }),
).toString('base64');
const REGISTRATION_TOKEN = 'AABRT7K3PLQ2ZXWV9MN4HGF6DSE5Y';

describe('SecretRegistry', () => {
  it('redacts a minted value wherever it appears', () => {
    const registry = new SecretRegistry();
    registry.addMinted(REGISTRATION_TOKEN);
    expect(registry.redact(`config.sh --token ${REGISTRATION_TOKEN} --url x`)).toBe(
      `config.sh --token ${REDACTED} --url x`,
    );
  });

  it('redacts a long base64 run nobody registered (a JIT config), and leaves digests, ids and ARNs alone', () => {
    const registry = new SecretRegistry();
    expect(registry.redact(`jit ${JIT_CONFIG} end`)).toBe(`jit ${REDACTED} end`);
    const ordinary = [
      'a'.repeat(64),
      'arn:aws:codebuild:eu-west-1:123456789012:build/JR-x64:0b8f5c3e-1d2a-4c3b-9e8f-7a6b5c4d3e2f',
      'jr-20131853034-2',
      '/repos/{owner}/{repo}/actions/runners/{runner_id}',
    ];
    for (const text of ordinary) expect(registry.redact(text)).toBe(text);
  });

  it('keeps the newest minted values up to its bound, and configured ones for good', () => {
    const registry = new SecretRegistry();
    registry.add('configured-webhook-secret');
    const token = (i: number) => `minted-token-${String(i).padStart(6, '0')}`;
    for (let i = 0; i <= MAX_MINTED_SECRETS; i++) registry.addMinted(token(i));
    expect(registry.size).toBe(MAX_MINTED_SECRETS + 1);
    expect(registry.redact(token(0))).toBe(token(0));
    expect(registry.redact(token(MAX_MINTED_SECRETS))).toBe(REDACTED);
    expect(registry.redact('configured-webhook-secret')).toBe(REDACTED);
  });
});

describe('createRedactingLogger', () => {
  it('redacts minted secrets in messages, nested fields and errors', () => {
    const registry = new SecretRegistry();
    registry.addMinted(REGISTRATION_TOKEN);
    const sink = new CaptureLogger();
    const logger = createRedactingLogger(sink, registry);
    logger.warn(`launch failed for ${REGISTRATION_TOKEN}`, {
      detail: { nested: [`value ${REGISTRATION_TOKEN}`] },
      error: new Error(`Value '${JIT_CONFIG}' failed to satisfy constraint`),
      jitconfig: 'whatever the key says',
    });
    const text = sink.text();
    expect(text).not.toContain(REGISTRATION_TOKEN);
    expect(text).not.toContain(JIT_CONFIG.slice(0, 100));
    expect(text).not.toContain('whatever the key says');
    expect(text).toContain('failed to satisfy constraint');
  });
});
