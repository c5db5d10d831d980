import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  AuthFailureLimiter,
  type ConsoleSession,
  ConsoleAuthService,
  CurrentPrincipal,
  PasskeysService,
  type Principal,
  Public,
  Roles,
  SESSION_COOKIE,
} from '@app/auth';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DomainError } from '@app/errors';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { ApiErrors } from '../openapi';
import { PasskeyRegisteredView, SessionView } from '../users/user-responses.dto';
import { isLoopback, relyingPartyOf } from './relying-party';
import { PasskeyRegistrationBody, SignInBody } from './session.dto';

class ConsoleSessionOnly extends DomainError {
  constructor() {
    super('CONSOLE_SESSION_REQUIRED', 'invalid', 'this route is for people signed in to the console (not API tokens)');
  }
}

type SessionRequest = Request & { consoleSession?: ConsoleSession };

/**
 * The console's sign-in: username + password + TOTP give an HttpOnly, SameSite=Strict session cookie
 * (Secure except on loopback) and the session's CSRF token, which every state-changing call with the
 * cookie must send back in `X-CSRF-Token`.
 */
@ApiTags('console')
@ApiErrors()
@Controller('session')
export class SessionController {
  constructor(
    private readonly auth: ConsoleAuthService,
    private readonly passkeys: PasskeysService,
    private readonly failures: AuthFailureLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @Public()
  @HttpCode(200)
  @ApiOkResponse({
    type: SessionView,
    description: "the person, the CSRF token and the session's ends (the session itself is the HttpOnly cookie, never in the body)",
  })
  @ApiOperation({ summary: 'Sign in (username, password, TOTP code): sets the session cookie, answers the person and the CSRF token' })
  async signIn(@Body() body: SignInBody, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const client = req.ip ?? 'unknown';
    await this.failures.assertNotBlocked(client);
    let signedIn;
    try {
      signedIn = await this.auth.signIn(body.username, body.password, body.totp, client);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'SIGN_IN_REFUSED') await this.failures.recordFailure(client);
      throw error;
    }
    res.cookie(SESSION_COOKIE, signedIn.token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: !isLoopback(req),
      path: '/',
      maxAge: this.config.console.absoluteSeconds * 1000,
    });
    return this.view(signedIn.principal, signedIn.session);
  }

  @Get()
  @Roles('viewer')
  @ApiOkResponse({ type: SessionView })
  @ApiOperation({
    summary: 'Who is signed in, the CSRF token and when the session ends (idle and absolute); with an API token: whose it is',
  })
  async current(@CurrentPrincipal() who: Principal, @Req() req: SessionRequest): Promise<SessionView> {
    if (!req.consoleSession) {
      // An API token: who it belongs to; there is no session, so no CSRF token or expiry.
      return {
        user: { id: who.userId, name: who.name, roles: who.roles },
        csrf_token: null,
        idle_expires_at: null,
        absolute_expires_at: null,
        passkeys: await this.passkeys.count(who.userId),
      };
    }
    return this.view(who, req.consoleSession);
  }

  @Delete()
  @Roles('viewer')
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: the session ends on the server and the cookie is cleared' })
  async signOut(@CurrentPrincipal() who: Principal, @Req() req: SessionRequest, @Res({ passthrough: true }) res: Response) {
    if (!req.consoleSession) throw new ConsoleSessionOnly();
    await this.auth.signOut(req.consoleSession.id, who.name);
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: !isLoopback(req), path: '/' });
  }

  @Post('passkeys/options')
  @Roles('viewer')
  @HttpCode(200)
  @ApiOkResponse({
    description:
      "WebAuthn PublicKeyCredentialCreationOptionsJSON, as @simplewebauthn/browser's startRegistration takes it (the standard's fields; open to its additions)",
    schema: {
      type: 'object',
      additionalProperties: true,
      required: ['challenge', 'rp', 'user', 'pubKeyCredParams'],
      properties: {
        challenge: { type: 'string', example: 'Xq3...' },
        rp: { type: 'object', additionalProperties: true, example: { name: 'Klear back office', id: 'localhost' } },
        user: { type: 'object', additionalProperties: true, example: { id: 'dXNlcg', name: 'dana.ops', displayName: 'dana.ops' } },
        pubKeyCredParams: {
          type: 'array',
          items: { type: 'object', additionalProperties: true },
          example: [{ alg: -7, type: 'public-key' }],
        },
      },
    },
  })
  @ApiOperation({ summary: 'Options for navigator.credentials.create(): enrol a passkey for the signed-in person' })
  async passkeyOptions(@CurrentPrincipal() who: Principal, @Req() req: SessionRequest) {
    if (!req.consoleSession) throw new ConsoleSessionOnly();
    return this.passkeys.registrationOptions(who, relyingPartyOf(this.config, req));
  }

  @Post('passkeys')
  @Roles('viewer')
  @HttpCode(201)
  @ApiCreatedResponse({ type: PasskeyRegisteredView })
  @ApiOperation({ summary: 'Verify and store the new passkey' })
  async passkeyRegister(
    @Body() body: PasskeyRegistrationBody,
    @CurrentPrincipal() who: Principal,
    @Req() req: SessionRequest,
  ): Promise<PasskeyRegisteredView> {
    if (!req.consoleSession) throw new ConsoleSessionOnly();
    const { credentialId } = await this.passkeys.register(
      who,
      body.response as unknown as RegistrationResponseJSON,
      relyingPartyOf(this.config, req),
    );
    return { credential_id: credentialId, passkeys: await this.passkeys.count(who.userId) };
  }

  private async view(who: Principal, session: ConsoleSession): Promise<SessionView> {
    return {
      user: { id: who.userId, name: who.name, roles: who.roles },
      csrf_token: session.csrfToken,
      idle_expires_at: session.idleExpiresAt.toISOString(),
      absolute_expires_at: session.absoluteExpiresAt.toISOString(),
      passkeys: await this.passkeys.count(who.userId),
    };
  }
}
