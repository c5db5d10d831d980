import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DbTransactions } from '@app/db';
import { ApiTokenRepository } from './api-token.repository';
import { AuthChangesRepository } from './auth-changes.repository';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthGuard } from './auth.guard';
import { ConsoleAuthService } from './console-auth.service';
import { ConsoleCredentialRepository } from './console-credential.repository';
import { ConsoleSessionRepository } from './console-session.repository';
import { PasskeyRepository } from './passkey.repository';
import { PasskeysService } from './passkeys.service';
import { UserInvitationRepository } from './user-invitation.repository';
import { UserRepository } from './user.repository';
import { UsersService } from './users.service';
import { VerifiedTokenCache } from './verified-token-cache';

/** The repositories of users, tokens, invitations and console credentials and sessions, and the transactions that span them. */
const USER_REPOSITORIES = [
  DbTransactions,
  UserRepository,
  ApiTokenRepository,
  UserInvitationRepository,
  ConsoleCredentialRepository,
  ConsoleSessionRepository,
];

@Module({
  providers: [
    ...USER_REPOSITORIES,
    PasskeyRepository,
    UsersService,
    VerifiedTokenCache,
    AuthChangesRepository,
    ConsoleAuthService,
    PasskeysService,
    AuthFailureLimiter,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [UsersService, ConsoleAuthService, PasskeysService, AuthFailureLimiter, VerifiedTokenCache, AuthChangesRepository],
})
export class AuthModule {}

/** Users and tokens without the HTTP guard (the CLI). */
@Module({ providers: [...USER_REPOSITORIES, UsersService, ConsoleAuthService], exports: [UsersService, ConsoleAuthService] })
export class UsersModule {}
