import { applyDecorators, Catch, Logger, SetMetadata, UseFilters, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError } from '../common/domain-error.js';
import { classifyError } from './framework-errors.js';

/** One row of an API's status table: the HTTP status, the name the API gives the case, a message safe to show. */
export interface StatusRow {
  status: number;
  name: string;
  message: string;
  /** The domain error's family and code, for a table whose headers depend on the case (a DPoP challenge); absent on the 500 row. */
  family?: string;
  code?: string;
}

/**
 * How one API answers errors: which row each domain error is, and the body it renders a row as.
 * `rowFor` throws for an error the API has no row for; the filter then answers the 500 row.
 */
export interface StatusTable {
  rowFor(error: DomainError): StatusRow;
  /** The row of an unexpected error: a generic 500 that tells only the request id. */
  internal(requestId: string): StatusRow;
  body(row: StatusRow): object;
  /** Headers the API sends with a row (OAuth's `WWW-Authenticate` and `Cache-Control: no-store`, a DPoP challenge). */
  headers?(row: StatusRow): Record<string, string>;
}

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: object;
}

const logger = new Logger('ApiExceptionFilter');

/**
 * The answer to anything thrown, through one API's status table. An error the table has no row
 * for, or one that is not a domain error at all, is logged and answered with the table's 500.
 */
export function renderError(table: StatusTable, exception: unknown, requestId: string): RenderedError {
  const error = classifyError(exception);
  let row: StatusRow | undefined;
  if (error) {
    try {
      row = table.rowFor(error);
    } catch (unmapped) {
      logger.error({ err: unmapped, requestId }, 'error without a row in the status table');
    }
  } else {
    logger.error({ err: exception, requestId }, 'unhandled error');
  }
  row ??= table.internal(requestId);
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...table.headers?.(row) };
  const retryAfter = row.status === 429 ? error?.details?.retryAfterSeconds : undefined;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  return { status: row.status, headers, body: table.body(row) };
}

/** Renders every error of the routes it guards through one table. */
@Catch()
export class StatusTableFilter implements ExceptionFilter {
  constructor(readonly table: StatusTable) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const rendered = renderError(this.table, exception, request.id);
    void host.switchToHttp().getResponse<FastifyReply>().status(rendered.status).headers(rendered.headers).send(rendered.body);
  }
}

export const STATUS_TABLE = Symbol('sigauth:status-table');

/**
 * A controller's own status table: every error its routes raise is answered through it. The table
 * also answers errors met before routing on the controller's path (a body too large, a bad JSON
 * body, an unknown route below it); see StatusTableRegistry.
 */
export function ApiStatusTable(table: StatusTable): ClassDecorator {
  return applyDecorators(SetMetadata(STATUS_TABLE, table), UseFilters(new StatusTableFilter(table)));
}

/** A row as a table writes it: status, name, and a message of its own where the error's must not be shown. */
export type RowSpec = readonly [status: number, name: string, message?: string];

/** The same row for every code of a family, for an API that tells none of them apart. */
export function oneRowFor<C extends string>(codes: readonly C[], row: RowSpec): Record<C, RowSpec> {
  return Object.fromEntries(codes.map((code) => [code, row])) as Record<C, RowSpec>;
}

/**
 * The rows of a union of error families, by family and code. Exhaustive by type: a new family or
 * code does not compile until the table has a row for it.
 */
export type FamilyRows<E extends DomainError> = { readonly [F in E as F['family']]: { readonly [C in F['code']]: RowSpec } };

/** A status table from its rows and its body shape. */
export function statusTable<E extends DomainError>(rows: FamilyRows<E>, shape: Pick<StatusTable, 'internal' | 'body' | 'headers'>): StatusTable {
  const byFamily = rows as Record<string, Record<string, RowSpec> | undefined>;
  return {
    rowFor(error) {
      const family = Object.hasOwn(byFamily, error.family) ? byFamily[error.family] : undefined;
      const spec = family && Object.hasOwn(family, error.code) ? family[error.code] : undefined;
      if (!spec) throw new Error(`no row for ${error.family}/${error.code}`);
      return { status: spec[0], name: spec[1], message: spec[2] ?? error.message, family: error.family, code: error.code };
    },
    ...shape,
  };
}
