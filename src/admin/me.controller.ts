import { Controller, Delete, Get, Param, Req, UseGuards } from '@nestjs/common';
import { ok, type Envelope } from '../auth/envelope.js';
import { AccessTokenGuard, type AuthenticatedRequest } from '../tokens/access-token.guard.js';
import type { SessionRecord } from '../tokens/session.repository.js';
import { SessionsService } from '../tokens/sessions.service.js';
import { UsersService } from '../users/users.service.js';
import { UserError } from '../users/users.errors.js';

/** A signed-in user's own sessions. */
@Controller('auth/api/v1/me/sessions')
@UseGuards(AccessTokenGuard)
export class MeController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
  ) {}

  @Get()
  async list(@Req() request: AuthenticatedRequest): Promise<Envelope<{ sessions: (SessionRecord & { current: boolean })[] }>> {
    const user = await this.users.getByEmail(request.principal.sub);
    const sessions = await this.sessions.listForUser(user.id);
    return ok('Sessions.', { sessions: sessions.map((s) => ({ ...s, current: s.id === request.principal.sid })) });
  }

  /** Someone else's session id answers like an unknown one: ids reveal nothing across users. */
  @Delete(':id')
  async end(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<{ ended: boolean }>> {
    const user = await this.users.getByEmail(request.principal.sub);
    const session = await this.sessions.find(id);
    if (!session || session.userId !== user.id) throw new UserError('SESSION_NOT_FOUND', 'no such session');
    return ok('Session ended.', { ended: await this.sessions.end(session, 'ended by its user', request.principal.sub) });
  }
}
