import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Sealing for what the store keeps that no one but the gateway may read (a provider's access token, a stored
 * response): AES-256-GCM with a key derived from a secret of the config and a purpose, so that one secret never
 * keys two purposes. The first secret seals; every one opens (rotation). `iv.tag.body`, each base64url.
 */
const keyOf = (purpose: string, secret: string) => createHash('sha256').update(`${purpose}:${secret}`, 'utf8').digest();

export function seal(purpose: string, secrets: readonly string[], text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(purpose, secrets[0]!), iv);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

/** The text a sealed value holds, opened with any of the secrets; undefined when none opens it (or it was altered). */
export function unseal(purpose: string, secrets: readonly string[], sealed: string): string | undefined {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !body) return undefined;
  for (const secret of secrets) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyOf(purpose, secret), iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      // another secret, or none
    }
  }
  return undefined;
}
