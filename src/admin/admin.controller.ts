import { applyDecorators, Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '../http/openapi-decorators.js';
import { AuditService } from '../audit/audit.service.js';
import type { AuditEvent, AuditEventType } from '../audit/audit.types.js';
import { created, ok, type Envelope } from '../http/envelope.js';
import { ENVELOPE_STATUS_TABLE } from '../http/envelope-status-table.js';
import { ApiStatusTable } from '../http/status-table.js';
import { RequestError } from '../common/domain-error.js';
import { ApiAccessToken, ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, EXAMPLE_SESSION, EXAMPLE_TIME, EXAMPLE_UUID } from '../http/openapi.js';
import { AccessTokenGuard, type AuthenticatedRequest } from '../auth/access-token.guard.js';
import { Roles } from '../auth/roles.decorator.js';
import type { SessionRecord } from '../sessions/session.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { PublicKeyCredential, UserRecord, UserWithCredentials, WalletCredential, WalletKind } from '../users/user.types.js';
import { UsersService } from '../users/users.service.js';
import { UserError } from '../users/users.errors.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { AddPublicKeyDto, AddWalletDto, AuditQueryDto, CreateUserDto, PageQueryDto, SetPasswordDto } from './dto/admin.dto.js';

const USER_ID = EXAMPLE_SESSION.userId;
const KEY_EXAMPLE = { id: EXAMPLE_SESSION.credentialId, publicKeyHex: '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac', createdAt: EXAMPLE_TIME, revokedAt: null };
const WALLET_EXAMPLE = { id: '3c5e7a9b-0d2f-4b6a-8e1c-5a7c9e1b3d46', address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', kind: 'EOA', createdAt: EXAMPLE_TIME, revokedAt: null };
const USER_EXAMPLE = {
  id: USER_ID,
  email: 'alice@wonderland.space',
  account: 'alice@wonderland',
  role: 'ROLE_PEER',
  status: 'ACTIVE',
  hasPassword: false,
  passwordExpiresAt: null,
  createdAt: EXAMPLE_TIME,
  updatedAt: EXAMPLE_TIME,
};
const USER_WITH_CREDENTIALS_EXAMPLE = { ...USER_EXAMPLE, publicKeys: [KEY_EXAMPLE], wallets: [WALLET_EXAMPLE] };
const AUDIT_EVENT_EXAMPLE = {
  id: '1042',
  occurredAt: EXAMPLE_TIME,
  type: 'login.success',
  outcome: 'success',
  userId: USER_ID,
  principal: 'alice@wonderland.space',
  sessionId: EXAMPLE_UUID,
  details: { credential: 'ED25519_KEY', credentialId: KEY_EXAMPLE.id },
  ip: '203.0.113.7',
  userAgent: 'fib-client/2.3',
  requestId: '3f1c2a9e-5d4b-4c1e-9a7f-2b8d6e0c4a11',
};

/** Routes under users/:id: the id parameter, and 404 when no user has it. */
function ApiUserId(): MethodDecorator {
  return applyDecorators(
    ApiParam({ name: 'id', description: 'The user id (UUID)', example: USER_ID }),
    ApiEnvelopeError(404, 'UserNotFound', `no user with id ${USER_ID}`, 'no user has this id'),
  );
}

const CONFLICT = ['Conflict', 'the user already holds this public key', 'the email is taken, or the credential is already held'] as const;
const INVALID_PUBLIC_KEY = ['InvalidPublicKey', 'public key is not a valid Ed25519 point', 'the key is not 64 hex digits, not a valid Ed25519 point, or of small order'] as const;

/** The admin API: users, credentials, sessions and the audit log, for ROLE_ADMIN bearers. */
@ApiTags('Admin')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@ApiAccessToken('ROLE_ADMIN')
@ApiEnvelopeCommonErrors()
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
  @ApiOperation({ summary: 'Create a user with any credentials', description: 'The email is trimmed, NFC-normalised and lower-cased; the password is stored as an Argon2id hash.' })
  @ApiEnvelopeOk('User created.', USER_WITH_CREDENTIALS_EXAMPLE, { status: 201 })
  @ApiEnvelopeError(409, ...CONFLICT)
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'email is empty, longer than 254 characters or malformed', 'missing, extra or mistyped fields; a malformed email, account, role, wallet, password or expiry')
  @ApiEnvelopeError(422, ...INVALID_PUBLIC_KEY)
  @ApiEnvelopeCommonErrors({ body: true })
  async createUser(@Req() request: AuthenticatedRequest, @Body() body: CreateUserDto): Promise<Envelope<UserWithCredentials>> {
    return created('User created.', await this.accounts.createUser(body, request.principal.sub));
  }

  @Get('users')
  @ApiOperation({ summary: 'List users, oldest first', description: 'Keyset pagination: pass `next` as `after` for the following page; `next` is null on the last one.' })
  @ApiEnvelopeOk('Users.', { users: [USER_WITH_CREDENTIALS_EXAMPLE], next: USER_ID })
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'limit must not be greater than 500', 'limit is not an integer from 1 to 500, or after is not a user id')
  async listUsers(@Query() query: PageQueryDto): Promise<Envelope<{ users: UserWithCredentials[]; next: string | null }>> {
    const limit = query.limit ?? 100;
    const users = await this.users.list(limit, query.after);
    return ok('Users.', { users, next: users.length === limit ? users.at(-1)!.id : null });
  }

  @Get('users/:id')
  @ApiOperation({ summary: 'Read a user and their credentials' })
  @ApiUserId()
  @ApiEnvelopeOk('User.', USER_WITH_CREDENTIALS_EXAMPLE)
  async getUser(@Param('id') id: string): Promise<Envelope<UserWithCredentials>> {
    return ok('User.', await this.users.getById(id));
  }

  @Post('users/:id/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a user', description: 'The user can no longer log in, and every session of theirs ends.' })
  @ApiUserId()
  @ApiEnvelopeOk('User disabled.', { ...USER_EXAMPLE, status: 'DISABLED', sessionsEnded: 2 })
  @ApiEnvelopeCommonErrors({ body: true })
  async disable(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<UserRecord & { sessionsEnded: number }>> {
    return ok('User disabled.', await this.accounts.disableUser({ id }, request.principal.sub));
  }

  @Post('users/:id/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled user' })
  @ApiUserId()
  @ApiEnvelopeOk('User enabled.', USER_EXAMPLE)
  @ApiEnvelopeCommonErrors({ body: true })
  async enable(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<UserRecord>> {
    return ok('User enabled.', await this.accounts.enableUser({ id }, request.principal.sub));
  }

  @Put('users/:id/password')
  @ApiOperation({ summary: "Set a user's password", description: 'Stored as an Argon2id hash. Every session the previous password opened ends.' })
  @ApiUserId()
  @ApiEnvelopeOk('Password set.', { ...USER_EXAMPLE, role: 'ROLE_SERVICE', hasPassword: true, sessionsEnded: 1 })
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'password must be 1 to 1024 characters', 'missing, extra or mistyped fields; an empty or overlong password, a malformed expiry')
  @ApiEnvelopeCommonErrors({ body: true })
  async setPassword(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Body() body: SetPasswordDto): Promise<Envelope<UserRecord & { sessionsEnded: number }>> {
    return ok('Password set.', await this.accounts.setPassword({ id }, body.password, body.passwordExpiresAt, request.principal.sub));
  }

  @Post('users/:id/keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Add an Ed25519 public key to a user' })
  @ApiUserId()
  @ApiEnvelopeOk('Key added.', KEY_EXAMPLE, { status: 201 })
  @ApiEnvelopeError(409, ...CONFLICT)
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'publicKeyHex must be a string', 'missing, extra or mistyped fields')
  @ApiEnvelopeError(422, ...INVALID_PUBLIC_KEY)
  @ApiEnvelopeCommonErrors({ body: true })
  async addKey(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Body() body: AddPublicKeyDto): Promise<Envelope<PublicKeyCredential>> {
    return created('Key added.', await this.accounts.addPublicKey({ id }, body.publicKeyHex, request.principal.sub));
  }

  @Delete('users/:id/keys/:publicKeyHex')
  @ApiOperation({ summary: 'Revoke a public key of a user', description: 'Every session that logged in with this key ends.' })
  @ApiUserId()
  @ApiParam({ name: 'publicKeyHex', description: 'The key, 64 hex digits', example: KEY_EXAMPLE.publicKeyHex })
  @ApiEnvelopeOk('Key revoked.', { ...KEY_EXAMPLE, revokedAt: EXAMPLE_TIME, sessionsEnded: 1 })
  @ApiEnvelopeError(404, 'CredentialNotFound', 'the user holds no active key with this value', 'the user holds no active key with this value')
  async revokeKey(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Param('publicKeyHex') key: string): Promise<Envelope<PublicKeyCredential & { sessionsEnded: number }>> {
    return ok('Key revoked.', await this.accounts.revokePublicKey({ id }, key, request.principal.sub));
  }

  @Post('users/:id/wallets')
  @HttpCode(201)
  @ApiOperation({ summary: 'Add an Ethereum wallet to a user', description: 'An address (kind EOA, the default) or a smart-contract wallet (kind CONTRACT).' })
  @ApiUserId()
  @ApiEnvelopeOk('Wallet added.', WALLET_EXAMPLE, { status: 201 })
  @ApiEnvelopeError(409, 'Conflict', 'the wallet is already held by an active user', 'the wallet is already held by an active user')
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'wallet must be a 0x-prefixed 20-byte hex address with a valid EIP-55 checksum', 'missing, extra or mistyped fields, or a malformed address')
  @ApiEnvelopeCommonErrors({ body: true })
  async addWallet(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Body() body: AddWalletDto): Promise<Envelope<WalletCredential>> {
    return created('Wallet added.', await this.accounts.addWallet({ id }, body.address, (body.kind ?? 'EOA') as WalletKind, request.principal.sub));
  }

  @Delete('users/:id/wallets/:address')
  @ApiOperation({ summary: 'Revoke a wallet of a user', description: 'Every session that logged in with this wallet ends.' })
  @ApiUserId()
  @ApiParam({ name: 'address', description: 'The 0x address', example: WALLET_EXAMPLE.address })
  @ApiEnvelopeOk('Wallet revoked.', { ...WALLET_EXAMPLE, revokedAt: EXAMPLE_TIME, sessionsEnded: 1 })
  @ApiEnvelopeError(404, 'CredentialNotFound', 'the user holds no active wallet with this address', 'the user holds no active wallet with this address')
  async revokeWallet(@Req() request: AuthenticatedRequest, @Param('id') id: string, @Param('address') address: string): Promise<Envelope<WalletCredential & { sessionsEnded: number }>> {
    return ok('Wallet revoked.', await this.accounts.revokeWallet({ id }, address, request.principal.sub));
  }

  @Get('users/:id/sessions')
  @ApiOperation({ summary: "List a user's sessions, ended ones included" })
  @ApiUserId()
  @ApiEnvelopeOk('Sessions.', { sessions: [EXAMPLE_SESSION] })
  async listSessions(@Param('id') id: string): Promise<Envelope<{ sessions: SessionRecord[] }>> {
    const user = await this.users.getById(id);
    return ok('Sessions.', { sessions: await this.sessions.listForUser(user.id, true) });
  }

  @Delete('sessions/:id')
  @ApiOperation({ summary: 'End any session', description: 'Its refresh tokens stop working and its access tokens are refused.' })
  @ApiParam({ name: 'id', description: 'The session id (UUID)', example: EXAMPLE_UUID })
  @ApiEnvelopeOk('Session ended.', { ended: true }, { description: 'Ended; `ended` is false when it had already ended' })
  @ApiEnvelopeError(404, 'SessionNotFound', 'no such session', 'no session has this id')
  async endSession(@Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<Envelope<{ ended: boolean }>> {
    const session = await this.sessions.find(id);
    if (!session) throw new UserError('SESSION_NOT_FOUND', 'no such session');
    return ok('Session ended.', { ended: await this.sessions.end(session, 'ended by an admin', request.principal.sub) });
  }

  @Get('audit')
  @ApiOperation({ summary: 'Query the audit log, newest first', description: 'Filter by user, type and time (`from` inclusive, `to` exclusive); pass `next` as `before` for the following page.' })
  @ApiEnvelopeOk('Audit events.', { events: [AUDIT_EVENT_EXAMPLE], next: '1042' })
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'from must be before to', 'a malformed filter, or from not before to')
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
