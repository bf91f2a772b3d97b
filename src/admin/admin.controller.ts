import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import type { AuditEvent, AuditEventType } from '../audit/audit.types.js';
import { created, ok, type Envelope } from '../auth/envelope.js';
import { RequestError } from '../common/domain-error.js';
import { AccessTokenGuard, type AuthenticatedRequest } from '../tokens/access-token.guard.js';
import { Roles } from '../tokens/roles.decorator.js';
import type { SessionRecord } from '../tokens/session.repository.js';
import { SessionsService } from '../tokens/sessions.service.js';
import type { PublicKeyCredential, UserRecord, UserWithCredentials, WalletCredential } from '../users/user.types.js';
import { UsersService } from '../users/users.service.js';
import { UserError } from '../users/users.errors.js';
import { AccountsService } from './accounts.service.js';
import { AddPublicKeyDto, AddWalletDto, AuditQueryDto, CreateUserDto, PageQueryDto } from './dto/admin.dto.js';

/** The admin API (DESIGN section 7): users, credentials, sessions and the audit log, for ROLE_ADMIN bearers. */
@Controller('auth/api/v1/admin')
@UseGuards(AccessTokenGuard)
@Roles('ROLE_ADMIN')
export class AdminController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  @Post('users')
  @HttpCode(201)
  async createUser(@Req() request: AuthenticatedRequest, @Body() body: CreateUserDto): Promise<Envelope<UserWithCredentials>> {
    return created('User created.', await this.accounts.createUser(body, request.principal.sub));
  }

  @Get('users')
  async listUsers(@Query() query: PageQueryDto): Promise<Envelope<{ users: UserWithCredentials[]; next: string | null }>> {
    const limit = query.limit ?? 100;
    const users = await this.users.list(limit, query.after);
    return ok('Users.', { users, next: users.length === limit ? users.at(-1)!.id : null });
  }

  @Get('users/:id')
  async getUser(@Param('id') id: string): Promise<Envelope<UserWithCredentials>> {
    return ok('User.', await this.users.getById(id));
  }

  @Post('users/:id/disable')
  @HttpCode(200)
  async disable(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<UserRecord & { sessionsEnded: number }>> {
    const user = await this.users.getById(id);
    return ok('User disabled.', await this.accounts.disableUser(user.email, request.principal.sub));
  }

  @Post('users/:id/enable')
  @HttpCode(200)
  async enable(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<UserRecord>> {
    const user = await this.users.getById(id);
    return ok('User enabled.', await this.accounts.enableUser(user.email, request.principal.sub));
  }

  @Post('users/:id/keys')
  @HttpCode(201)
  async addKey(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Body() body: AddPublicKeyDto): Promise<Envelope<PublicKeyCredential>> {
    const user = await this.users.getById(id);
    return created('Key added.', await this.accounts.addPublicKey(user.email, body.publicKeyHex, request.principal.sub));
  }

  @Delete('users/:id/keys/:publicKeyHex')
  async revokeKey(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Param('publicKeyHex') key: string): Promise<Envelope<PublicKeyCredential & { sessionsEnded: number }>> {
    const user = await this.users.getById(id);
    return ok('Key revoked.', await this.accounts.revokePublicKey(user.email, key, request.principal.sub));
  }

  @Post('users/:id/wallets')
  @HttpCode(201)
  async addWallet(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Body() body: AddWalletDto): Promise<Envelope<WalletCredential>> {
    const user = await this.users.getById(id);
    return created('Wallet added.', await this.accounts.addWallet(user.email, body.address, request.principal.sub));
  }

  @Delete('users/:id/wallets/:address')
  async revokeWallet(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Param('address') address: string): Promise<Envelope<WalletCredential & { sessionsEnded: number }>> {
    const user = await this.users.getById(id);
    return ok('Wallet revoked.', await this.accounts.revokeWallet(user.email, address, request.principal.sub));
  }

  @Get('users/:id/sessions')
  async listSessions(@Param('id') id: string): Promise<Envelope<{ sessions: SessionRecord[] }>> {
    const user = await this.users.getById(id);
    return ok('Sessions.', { sessions: await this.sessions.listForUser(user.id, true) });
  }

  @Delete('sessions/:id')
  async endSession(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<{ ended: boolean }>> {
    const session = await this.sessions.find(id);
    if (!session) throw new UserError('SESSION_NOT_FOUND', 'no such session');
    return ok('Session ended.', { ended: await this.sessions.end(session, 'ended by an admin', request.principal.sub) });
  }

  @Get('audit')
  async auditLog(@Query() query: AuditQueryDto): Promise<Envelope<{ events: AuditEvent[]; next: string | null }>> {
    const limit = query.limit ?? 100;
    const from = query.from ? new Date(query.from) : undefined;
    const to = query.to ? new Date(query.to) : undefined;
    if (from && to && from >= to) throw new RequestError('ARGUMENT_NOT_VALID', 'from must be before to');
    // Events still queued in memory would be missing from the answer.
    await this.audit.flush();
    const events = await this.audit.find({ userId: query.userId, type: query.type as AuditEventType | undefined, from, to, limit, before: query.before });
    return ok('Audit events.', { events, next: events.length === limit ? events.at(-1)!.id : null });
  }
}
