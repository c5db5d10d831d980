import { scrubSecrets } from '@app/logging';

const MIN_SECRET_LENGTH = 4;

/**
 * Removes the client's own secrets (token, password, MFA code, email, session cookie) from any text
 * before it becomes an error message or a log field, on top of the generic patterns of scrubSecrets.
 */
export class SecretRedactor {
  private readonly secrets = new Set<string>();

  add(...values: Array<string | undefined>): void {
    for (const value of values) if (value && value.length >= MIN_SECRET_LENGTH) this.secrets.add(value);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so that a secret containing another is removed whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('[REDACTED]');
    return scrubSecrets(out);
  }
}
