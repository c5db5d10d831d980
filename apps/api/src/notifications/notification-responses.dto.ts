import { ApiProperty } from '@nestjs/swagger';
import { CHANNELS, NOTIFICATION_KIND_NAMES } from '@app/notifications';
import { nullableText, nullableTime } from '../openapi-properties';

/*
 * The answers of the notification preference and delivery-log routes, as documented in /docs-json
 * (test/foundation/openapi-responses.test.ts holds every answer to them, an undeclared field failing).
 */

const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'failed'];

export class NotificationPreferencesView {
  @ApiProperty({ format: 'uuid' }) user_id: string;
  @ApiProperty(nullableText('alice@example.com', 'null: no address, no email is sent')) email: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string', enum: [...CHANNELS] } },
    example: { 'withdrawal.approval_requested': ['email', 'slack'], 'breaks.digest': [] },
    description: `per kind (${NOTIFICATION_KIND_NAMES.join(', ')}), the channels it reaches the person on; [] is off`,
  })
  events: Record<string, string[]>;
  @ApiProperty(nullableTime('null: never set (the defaults)')) updated_at: string | null;
  @ApiProperty(nullableText('test-admin')) updated_by: string | null;
}

export class NotificationAttemptView {
  @ApiProperty({ example: 1 }) attempt: number;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty(nullableTime()) finished_at: string | null;
  @ApiProperty({ enum: ['started', 'delivered', 'retry', 'failed', 'interrupted'] }) outcome: string;
  @ApiProperty(nullableText('SMTP 451 try again later')) detail: string | null;
}

export class NotificationDeliveryView {
  @ApiProperty({ example: '17' }) id: string;
  @ApiProperty({ example: '9', description: 'the notification (one per event, fanned out to deliveries)' }) notification_id: string;
  @ApiProperty({ enum: NOTIFICATION_KIND_NAMES }) kind: string;
  @ApiProperty({ example: 'withdrawal' }) subject_type: string;
  @ApiProperty({ example: '6f1c2d4e-0b8a-4d55-9a7e-2f3b5c7d9e01' }) subject_id: string;
  @ApiProperty({ enum: [...CHANNELS] }) channel: string;
  @ApiProperty({ example: 'user:6f1c2d4e-0b8a-4d55-9a7e-2f3b5c7d9e01', description: 'who it is for' }) recipient: string;
  @ApiProperty(nullableText('test-approver')) recipient_name: string | null;
  @ApiProperty(nullableText('alice@example.com', 'where it is sent (null: the channel has no address for the person)')) address:
    string | null;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: string;
  @ApiProperty({ example: 1 }) attempts: number;
  @ApiProperty(nullableText()) last_error: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) next_attempt_at: string;
  @ApiProperty(nullableTime()) delivered_at: string | null;
  @ApiProperty({ type: [NotificationAttemptView], description: 'every attempt, oldest first' }) attempt_log: NotificationAttemptView[];
}

export class NotificationDeliveriesView {
  @ApiProperty({ type: [NotificationDeliveryView], description: 'newest first, 100 a page' }) data: NotificationDeliveryView[];
  @ApiProperty(nullableText('17', 'pass as ?before= for the next page; null on the last')) next_before: string | null;
}
