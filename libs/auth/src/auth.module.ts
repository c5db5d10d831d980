import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthGuard } from './auth.guard';
import { UsersService } from './users.service';

@Module({
  providers: [UsersService, AuthFailureLimiter, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [UsersService],
})
export class AuthModule {}

/** Users and tokens without the HTTP guard (the CLI). */
@Module({ providers: [UsersService], exports: [UsersService] })
export class UsersModule {}
