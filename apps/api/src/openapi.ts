import { applyDecorators, type INestApplication, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiResponse, DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';
import { ErrorBody } from '@app/http';

/** The error answers every protected route can give, documented once. */
export const ApiErrors = () =>
  applyDecorators(
    ApiExtraModels(ErrorBody),
    ...[
      [400, 'invalid input: every invalid field named in details'],
      [401, 'no valid API token'],
      [403, 'the token lacks the role this route needs'],
      [404, 'not found'],
      [409, 'conflict: idempotency key reused with another body, or transition not allowed'],
      [422, 'business rule refused, with the figures in details'],
      [500, 'unexpected error, with error_id'],
      [503, 'a dependency (database) is down'],
    ].map(([status, description]) =>
      ApiResponse({ status: status as number, description: description as string, schema: { $ref: getSchemaPath(ErrorBody) } }),
    ),
  );

export function setupOpenApi(app: INestApplication, version: string): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Klear SCM back office: clearing-ops API')
      .setDescription(
        'Money: `<name>_centicents` are decimal strings (1 USD = 10,000 centicents). Lists: `?limit=&cursor=`, answer `{ data, next_cursor }`. Errors: `{ code, message, details?, error_id? }`.',
      )
      .setVersion(version)
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'API token (kso_...), created with the CLI or POST /users/{id}/tokens',
      })
      .build(),
    { extraModels: [ErrorBody] },
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

/** A list answer `{ data: [model], next_cursor }` documented with its model. */
export const ApiPageResponse = (model: Type<unknown>) =>
  applyDecorators(
    ApiExtraModels(model),
    ApiOkResponse({
      schema: {
        type: 'object',
        required: ['data', 'next_cursor'],
        properties: {
          data: { type: 'array', items: { $ref: getSchemaPath(model) } },
          next_cursor: { type: 'string', nullable: true, description: 'pass as ?cursor= for the next page; null on the last' },
        },
      },
    }),
  );
