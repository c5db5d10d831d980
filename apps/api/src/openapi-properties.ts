/*
 * Property options the answers' DTOs share in /docs-json: a text or a time that may be null.
 */

export const nullableText = (example?: string, description?: string) => ({
  type: String,
  nullable: true,
  ...(example ? { example } : {}),
  ...(description ? { description } : {}),
});

export const nullableTime = (description?: string) => ({
  type: String,
  nullable: true,
  format: 'date-time',
  ...(description ? { description } : {}),
});
