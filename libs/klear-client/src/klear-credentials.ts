/** How the client proves who it is to Klear. Every field but `mode` and `adminUserId` is a secret. */
export type KlearCredentials =
  { mode: 'bearer'; adminUserId: string; accessToken: string } | { mode: 'session'; email: string; password: string; mfaCode?: string };

/** Credentials given directly, or loaded (for example decrypted from the database) on first use. */
export type KlearCredentialsSource = KlearCredentials | (() => Promise<KlearCredentials>);

/** The secret strings of a set of credentials, for redaction. */
export function credentialSecrets(credentials: KlearCredentials): string[] {
  return credentials.mode === 'bearer'
    ? [`${credentials.adminUserId}:${credentials.accessToken}`, credentials.accessToken]
    : [credentials.email, credentials.password, credentials.mfaCode ?? ''];
}
