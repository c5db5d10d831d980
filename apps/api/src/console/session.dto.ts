import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class SignInBody {
  @ApiProperty({ example: 'demo-approver-1' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  username: string;

  @ApiProperty({ description: 'the console password (argon2id-hashed on the server)' })
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  password: string;

  @ApiProperty({ example: '123456', description: 'the current code of the authenticator app (TOTP, RFC 6238)' })
  @IsString()
  @Matches(/^\d{6}$/, { message: 'six digits' })
  totp: string;
}

export class PasskeyRegistrationBody {
  @ApiProperty({ description: "the browser's navigator.credentials.create() answer, as JSON (RegistrationResponseJSON)" })
  @IsObject()
  response: Record<string, unknown>;
}
