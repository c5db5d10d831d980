import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '@app/auth';
import { Clock } from '@app/clock';
import { BufferHeadroomService, WithdrawalPolicyService } from '@app/withdrawals';
import { ApiErrors } from '../openapi';
import { HeadroomNowView } from './headroom-responses.dto';
import { headroomNowView } from './withdrawals.dto';

/** "How much could be withdrawn now", for every role: the same figures a request's headroom check uses. */
@ApiTags('withdrawals')
@ApiBearerAuth()
@ApiErrors()
@Controller('headroom')
export class HeadroomController {
  constructor(
    private readonly headroom: BufferHeadroomService,
    private readonly policies: WithdrawalPolicyService,
    private readonly clock: Clock,
  ) {}

  @Get()
  @Roles('viewer')
  @ApiOkResponse({ type: HeadroomNowView })
  @ApiOperation({
    summary:
      'How much could be withdrawn now: available - not yet locked withdrawals - reserve (active obligation + estimate + policy floor), every term; requests waiting for approval as a separate term',
    description:
      'The balance is refreshed from Klear when older than WITHDRAWAL_BALANCE_MAX_AGE_SECONDS (503 BUFFER_BALANCE_UNAVAILABLE when Klear cannot be read).',
  })
  async get(): Promise<HeadroomNowView> {
    const policy = await this.policies.current();
    return headroomNowView(await this.headroom.now(policy.reserveFloorCenticents), policy.version, this.clock.now());
  }
}
