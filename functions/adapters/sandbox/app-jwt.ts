import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';

export interface AppKeyPair {
  /** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), as GitHub issues App keys. */
  privateKey: string;
  publicKey: KeyObject;
}

export function generateAppKeyPair(): AppKeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

const part = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** Clock drift GitHub tolerates on `iat`, and the longest lifetime it accepts (10 minutes). */
const SKEW_SECONDS = 60;
const MAX_LIFETIME_SECONDS = 600 + SKEW_SECONDS;

/**
 * Verifies an App JWT the way GitHub does: RS256 signed by the App key, `iss` = App id, not expired,
 * not issued in the future, and living at most ten minutes. Returns why it failed, or undefined.
 */
export function appJwtProblem(
  jwt: string,
  publicKey: KeyObject,
  appId: number,
  nowSeconds: number,
): string | undefined {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return 'A JSON web token could not be decoded';
  const header = part(h);
  const payload = part(p);
  if (!header || !payload) return 'A JSON web token could not be decoded';
  if (header.alg !== 'RS256') return "'alg' must be RS256";
  const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'));
  if (!ok) return 'A JSON web token could not be decoded';
  if (String(payload.iss) !== String(appId)) return "'Issuer' claim ('iss') must be an Integer";
  const iat = Number(payload.iat);
  const exp = Number(payload.exp);
  if (!Number.isFinite(iat) || iat > nowSeconds + SKEW_SECONDS) {
    return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
  }
  if (!Number.isFinite(exp) || exp <= nowSeconds) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  }
  if (exp - iat > MAX_LIFETIME_SECONDS) return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}
