import { applyDecorators, Get, type Type } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { type Role, Roles } from '@app/auth';

/** A GET route for callers holding `role`, with its answer's type and its summary in /docs-json. */
export const ReadRoute = (path: string, role: Role, answer: Type<unknown>, summary: string) =>
  applyDecorators(Get(path), Roles(role), ApiOkResponse({ type: answer }), ApiOperation({ summary }));
