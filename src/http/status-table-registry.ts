import { Catch, Injectable, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ENVELOPE_STATUS_TABLE } from './envelope-status-table.js';
import { renderError, STATUS_TABLE, type RenderedError, type StatusTable } from './status-table.js';

/**
 * Which table answers an error raised before any controller ran (a body Fastify refused, an
 * unknown route, a request Node could not parse): the table of the controller whose path the
 * request is under, as the controllers declare them; the envelope table anywhere else.
 */
@Injectable()
export class StatusTableRegistry {
  private prefixes?: { prefix: string; table: StatusTable }[];

  constructor(private readonly discovery: DiscoveryService) {}

  forPath(url: string): StatusTable {
    const path = url.split('?')[0] ?? '/';
    this.prefixes ??= this.discover();
    return this.prefixes.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))?.table ?? ENVELOPE_STATUS_TABLE;
  }

  render(exception: unknown, url: string, requestId: string): RenderedError {
    return renderError(this.forPath(url), exception, requestId);
  }

  /** Longest path first, so the most specific controller wins. */
  private discover(): { prefix: string; table: StatusTable }[] {
    const found = new Map<string, StatusTable>();
    for (const { metatype } of this.discovery.getControllers()) {
      if (!metatype) continue;
      const table = Reflect.getMetadata(STATUS_TABLE, metatype) as StatusTable | undefined;
      const path = Reflect.getMetadata(PATH_METADATA, metatype) as string | string[] | undefined;
      for (const p of table ? [path ?? ''].flat() : []) found.set(`/${p.replace(/^\/+|\/+$/g, '')}`, table!);
    }
    return [...found].map(([prefix, table]) => ({ prefix, table })).sort((a, b) => b.prefix.length - a.prefix.length);
  }
}

/** The global filter: only errors no controller's own table caught reach it (see ApiStatusTable). */
@Catch()
@Injectable()
export class PreRoutingExceptionFilter implements ExceptionFilter {
  constructor(private readonly tables: StatusTableRegistry) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const rendered = this.tables.render(exception, request.url, request.id);
    void host.switchToHttp().getResponse<FastifyReply>().status(rendered.status).headers(rendered.headers).send(rendered.body);
  }
}
