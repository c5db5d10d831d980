import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The error shape of every non-2xx answer (docs/ops-api: Conventions). */
export class ErrorBody {
  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'stable SNAKE_CASE code' })
  code: string;

  @ApiProperty({ example: 'amount: must be a USD amount with at most 2 decimals' })
  message: string;

  @ApiPropertyOptional({
    description: 'for 400: [{ field, problems[] }] naming every invalid field; for 422: the figures behind the rule',
  })
  details?: unknown;

  @ApiPropertyOptional({ description: 'for 500: quote this to support; the server log has the stack under it' })
  error_id?: string;
}
