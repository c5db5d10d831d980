import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, Roles, UsersService } from '@app/auth';
import { ApiErrors } from '../openapi';
import { CreateUserBody, IssueTokenBody, tokenView, userView } from './users.dto';

@ApiTags('users')
@ApiBearerAuth()
@ApiErrors()
@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('users')
  @Roles('admin')
  @ApiOperation({ summary: 'People and scripts with their tokens (never the token itself)' })
  async list() {
    return { data: (await this.users.listUsers()).map(userView), next_cursor: null };
  }

  @Post('users')
  @Roles('admin')
  @ApiOperation({ summary: 'Create a user' })
  async create(@Body() body: CreateUserBody, @CurrentPrincipal() who: Principal) {
    return userView(await this.users.createUser(body.name, body.roles, who.name));
  }

  @Post('users/:id/tokens')
  @Roles('admin')
  @ApiOperation({ summary: 'Issue an API token: shown once in this answer, stored as a hash' })
  async issue(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: IssueTokenBody, @CurrentPrincipal() who: Principal) {
    const issued = await this.users.issueToken(id, body.label, who.name);
    return { ...tokenView(issued.record), token: issued.token };
  }

  @Delete('tokens/:id')
  @Roles('admin')
  @ApiOperation({ summary: 'Revoke a token (effective at once)' })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    return tokenView(await this.users.revokeToken(id, who.name));
  }
}
