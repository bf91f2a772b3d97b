import { Controller, Delete, Get, Param, Req, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '../http/openapi-decorators.js';
import { ok, type Envelope } from '../http/envelope.js';
import { ENVELOPE_STATUS_TABLE } from '../http/envelope-status-table.js';
import { ApiStatusTable } from '../http/status-table.js';
import { ApiAccessToken, ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, EXAMPLE_SESSION } from '../http/openapi.js';
import { AccessTokenGuard, type AuthenticatedRequest } from '../auth/access-token.guard.js';
import type { SessionRecord } from '../sessions/session.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { UserError } from '../users/users.errors.js';

/** A signed-in user's own sessions. */
@ApiTags('My sessions')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@ApiAccessToken()
@ApiEnvelopeCommonErrors()
@Controller('auth/api/v1/me/sessions')
@UseGuards(AccessTokenGuard)
export class MeController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({ summary: 'List my live sessions', description: '`current` marks the session of the token used for this request.' })
  @ApiEnvelopeOk('Sessions.', { sessions: [{ ...EXAMPLE_SESSION, current: true }] })
  async list(@Req() request: AuthenticatedRequest): Promise<Envelope<{ sessions: (SessionRecord & { current: boolean })[] }>> {
    const sessions = await this.sessions.listForUser(await this.ownerOf(request));
    return ok('Sessions.', { sessions: sessions.map((s) => ({ ...s, current: s.id === request.principal.sid })) });
  }

  /** Someone else's session id answers like an unknown one: ids reveal nothing across users. */
  @Delete(':id')
  @ApiOperation({ summary: 'End one of my sessions', description: "Another user's session id answers like an unknown one." })
  @ApiParam({ name: 'id', description: 'The session id (UUID)', example: EXAMPLE_SESSION.id })
  @ApiEnvelopeOk('Session ended.', { ended: true }, { description: 'Ended; `ended` is false when it had already ended' })
  @ApiEnvelopeError(404, 'SessionNotFound', 'no such session', 'no session of mine has this id')
  async end(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<{ ended: boolean }>> {
    const owner = await this.ownerOf(request);
    const session = await this.sessions.find(id);
    if (!session || session.userId !== owner) throw new UserError('SESSION_NOT_FOUND', 'no such session');
    return ok('Session ended.', { ended: await this.sessions.end(session, 'ended by its user', request.principal.sub) });
  }

  /**
   * The user behind the token, by its session (the guard has just found it live): a token's `sub`
   * is an email, or the account of a user the Factory registered without one.
   */
  private async ownerOf(request: AuthenticatedRequest): Promise<string> {
    const session = await this.sessions.find(request.principal.sid);
    if (!session) throw new UserError('SESSION_NOT_FOUND', 'no such session');
    return session.userId;
  }
}
