import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthGuard } from './auth.guard';
import { ConsoleAuthService } from './console-auth.service';
import { PasskeysService } from './passkeys.service';
import { UsersService } from './users.service';

@Module({
  providers: [UsersService, ConsoleAuthService, PasskeysService, AuthFailureLimiter, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [UsersService, ConsoleAuthService, PasskeysService, AuthFailureLimiter],
})
export class AuthModule {}

/** Users and tokens without the HTTP guard (the CLI). */
@Module({ providers: [UsersService, ConsoleAuthService], exports: [UsersService, ConsoleAuthService] })
export class UsersModule {}
