import { BadRequestException, type ValidationError, ValidationPipe } from '@nestjs/common';
import type { FieldProblem } from '@app/errors';

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors) {
    const field = parent ? (/^\d+$/.test(e.property) ? `${parent}[${e.property}]` : `${parent}.${e.property}`) : e.property;
    if (e.constraints) {
      out.push({
        field,
        problems: Object.values(e.constraints).map((m) => m.replace(/^property (\S+) should not exist$/, 'unknown field')),
      });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Whitelisting pipe: unknown fields rejected, every invalid field named in `details`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      return new BadRequestException({
        code: 'VALIDATION_FAILED',
        message: details
          .map((d) => `${d.field}: ${d.problems.join('; ')}`)
          .join(' | ')
          .slice(0, 2000),
        details,
      });
    },
  });
}
