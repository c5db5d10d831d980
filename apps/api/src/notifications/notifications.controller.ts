import { Body, Controller, Param, ParseUUIDPipe, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import {
  CHANNELS,
  NOTIFICATION_KIND_NAMES,
  NOTIFICATION_KINDS,
  NotificationDeliveryLog,
  type NotificationDeliveryRow,
  NotificationPreferencesService,
  type NotificationPreferences,
} from '@app/notifications';
import { ApiErrors } from '../openapi';
import { ReadRoute } from '../read-route';
import { NotificationDeliveriesView, NotificationDeliveryView, NotificationPreferencesView } from './notification-responses.dto';

export class PreferencesBody {
  @ApiPropertyOptional({ example: 'alice@example.com', nullable: true, description: 'null removes the address (no email is sent then)' })
  @ValidateIf((_, v) => v !== null && v !== undefined)
  @IsString()
  @MaxLength(320)
  email?: string | null;

  @ApiPropertyOptional({
    description: `Per kind, the channels (${CHANNELS.join(', ')}); [] switches a kind off. Kinds not named are kept. Kinds: ${NOTIFICATION_KIND_NAMES.join(', ')}`,
    example: { 'withdrawal.approval_requested': ['email', 'slack'], 'breaks.digest': [] },
  })
  @IsOptional()
  @IsObject()
  events?: Record<string, unknown>;
}

export class DeliveriesQuery {
  @ApiPropertyOptional({ enum: ['pending', 'sending', 'delivered', 'failed'] })
  @IsOptional()
  @IsIn(['pending', 'sending', 'delivered', 'failed'])
  status?: string;

  @ApiProperty({ required: false, description: 'Deliveries with an id below this (paging back), newest first' })
  @IsOptional()
  @IsString()
  before?: string;
}

export class NotificationKindView {
  @ApiProperty({ example: 'withdrawal.approval_requested' }) kind: string;
  @ApiProperty({ example: 'Approval needed' }) title: string;
  @ApiProperty({
    type: [String],
    example: ['approver'],
    description: 'who is told by default, by role (the API decides the audience; a person chooses channels)',
  })
  default_roles: string[];
}

export class NotificationKindsView {
  @ApiProperty({ type: [NotificationKindView] }) kinds: NotificationKindView[];
  @ApiProperty({ type: [String], example: [...CHANNELS] }) channels: string[];
}

const view = (p: NotificationPreferences): NotificationPreferencesView => ({
  user_id: p.userId,
  email: p.email,
  events: p.events,
  updated_at: p.updatedAt?.toISOString() ?? null,
  updated_by: p.updatedBy,
});

@ApiTags('notifications')
@ApiBearerAuth()
@ApiErrors()
@Controller('notifications')
export class NotificationsController {
  constructor(
    private readonly preferences: NotificationPreferencesService,
    private readonly log: NotificationDeliveryLog,
  ) {}

  @ReadRoute(
    'kinds',
    'viewer',
    NotificationKindsView,
    'The kinds of notification a person can choose (name, title, default audience by role) and the channels',
  )
  kinds() {
    return {
      kinds: NOTIFICATION_KIND_NAMES.map((kind) => ({
        kind,
        title: NOTIFICATION_KINDS[kind].title,
        default_roles: [...NOTIFICATION_KINDS[kind].roles],
      })),
      channels: [...CHANNELS],
    };
  }

  @ReadRoute(
    'preferences/me',
    'viewer',
    NotificationPreferencesView,
    'My notification preferences: address, and per kind the channels (default: email)',
  )
  async mine(@CurrentPrincipal() who: Principal) {
    return view(await this.preferences.get(who.userId));
  }

  @Put('preferences/me')
  @Roles('viewer')
  @ApiOkResponse({ type: NotificationPreferencesView })
  @ApiOperation({ summary: 'Set my notification address and which kinds reach me on which channel' })
  async setMine(@CurrentPrincipal() who: Principal, @Body() body: PreferencesBody) {
    return view(await this.preferences.set(who.userId, body, who.name));
  }

  @ReadRoute('preferences/:userId', 'admin', NotificationPreferencesView, "A person's notification preferences (admin)")
  async of(@Param('userId', new ParseUUIDPipe()) userId: string) {
    return view(await this.preferences.get(userId));
  }

  @Put('preferences/:userId')
  @Roles('admin')
  @ApiOkResponse({ type: NotificationPreferencesView })
  @ApiOperation({ summary: "Set a person's notification preferences (admin; audited)" })
  async setOf(@Param('userId', new ParseUUIDPipe()) userId: string, @Body() body: PreferencesBody, @CurrentPrincipal() who: Principal) {
    return view(await this.preferences.set(userId, body, who.name));
  }

  @ReadRoute(
    'deliveries',
    'admin',
    NotificationDeliveriesView,
    'The delivery log (admin): every notification delivery with its attempts, newest first',
  )
  async deliveries(@Query() q: DeliveriesQuery): Promise<NotificationDeliveriesView> {
    const page = await this.log.list({ status: q.status, before: q.before, limit: 100 });
    return { data: page.data.map(deliveryView), next_before: page.next_before };
  }
}

/** The row has the view's fields (the log's query names them so); its times become ISO text. */
function deliveryView(d: NotificationDeliveryRow): NotificationDeliveryView {
  return {
    ...d,
    created_at: d.created_at.toISOString(),
    next_attempt_at: d.next_attempt_at.toISOString(),
    delivered_at: d.delivered_at?.toISOString() ?? null,
    attempt_log: d.attempt_log,
  };
}
