import type { AddressInfo } from 'node:net';
import { Controller, Get, Injectable, Logger, Module, Req, UseGuards, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { startTestJwksIssuer, type TestJwksIssuer } from '../../../test/support/test-jwks-issuer.js';
import { CurrentPrincipal } from './current-principal.decorator.js';
import { Public } from './public.decorator.js';
import { Roles } from './roles.decorator.js';
import { SigauthAuthGuard } from './sigauth-auth.guard.js';
import { SigauthGuardModule } from './sigauth-guard.module.js';
import type { SigauthPrincipal, SigauthRequest } from './sigauth-principal.js';

@Controller()
class GlobalGuardController {
  @Get('me')
  me(@CurrentPrincipal() principal: SigauthPrincipal, @CurrentPrincipal('sub') sub: string, @Req() request: SigauthRequest) {
    return { principal, sub, sameAsRequestUser: request.user === principal };
  }

  @Public()
  @Get('open')
  open() {
    return { open: true };
  }

  @Roles('ROLE_ADMIN')
  @Get('admin')
  admin() {
    return { admin: true };
  }
}

@Roles('ROLE_SERVICE')
@Controller('services')
class ServicesController {
  @Get()
  list() {
    return { services: true };
  }

  @Roles('ROLE_SERVICE', 'ROLE_ADMIN')
  @Get('shared')
  shared() {
    return { shared: true };
  }
}

/** A route guarded per handler, in a module that does not import SigauthGuardModule (it is global). */
@Controller('local')
class LocalGuardController {
  @UseGuards(SigauthAuthGuard)
  @Get()
  local(@CurrentPrincipal('acc') acc: string) {
    return { acc };
  }

  @Get('unguarded')
  unguarded() {
    return { unguarded: true };
  }
}

@Module({ controllers: [LocalGuardController] })
class FeatureModule {}

@Injectable()
class ServiceSettings {
  constructor(readonly jwksUrl: string) {}
}

@Module({})
class SettingsModule {
  static with(jwksUrl: string): DynamicModule {
    return { module: SettingsModule, providers: [{ provide: ServiceSettings, useValue: new ServiceSettings(jwksUrl) }], exports: [ServiceSettings] };
  }
}

interface Booted {
  app: NestFastifyApplication;
  get(path: string, authorization?: string): Promise<{ status: number; headers: Headers; body: unknown }>;
}

// Over a real socket: Fastify's inject() needs light-my-request, which Jest cannot load on Node 20.
async function boot(module: DynamicModule): Promise<Booted> {
  const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false, abortOnError: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    get: async (path, authorization) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: authorization === undefined ? {} : { authorization } });
      return { status: res.status, headers: res.headers, body: await res.json() };
    },
  };
}

describe('SigauthAuthGuard', () => {
  let issuer: TestJwksIssuer;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    issuer = await startTestJwksIssuer();
  });
  afterAll(() => issuer.close());

  describe('as the global guard, configured with forRoot', () => {
    let service: Booted;
    const get: Booted['get'] = (path, authorization) => service.get(path, authorization);

    beforeAll(async () => {
      @Module({
        imports: [SigauthGuardModule.forRoot({ jwksUrl: issuer.jwksUrl, issuer: 'sigauth', audience: 'sigauth' })],
        controllers: [GlobalGuardController, ServicesController],
        providers: [{ provide: APP_GUARD, useExisting: SigauthAuthGuard }],
      })
      class AppModule {}
      service = await boot({ module: AppModule });
    });
    afterAll(() => service.app.close());

    it('puts the verified claims on request.user and hands them to @CurrentPrincipal', async () => {
      const claims = issuer.accessClaims();
      const res = await get('/me', `Bearer ${await issuer.mint(claims)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ principal: claims, sub: 'alice@example.org', sameAsRequestUser: true });
    });

    it('accepts the scheme name in any case', async () => {
      expect((await get('/me', `bearer ${await issuer.mint()}`)).status).toBe(200);
    });

    it('401 with WWW-Authenticate: Bearer when there is no bearer token', async () => {
      for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${Buffer.from('a:b').toString('base64')}`, await issuer.mint(), `JWT ${await issuer.mint()}`]) {
        const res = await get('/me', header);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer, DPoP algs="EdDSA Ed25519 ES256"');
        expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'an access token is required (Authorization: Bearer, or DPoP for a bound token)' });
      }
    });

    it('401 invalid_token for a refused token, saying why', async () => {
      const now = Math.floor(Date.now() / 1000);
      const cases: [string, string][] = [
        [await issuer.mint(issuer.accessClaims({ iat: now - 400, exp: now - 100 })), 'token has expired'],
        [await issuer.mint(issuer.accessClaims({ token_use: 'refresh' })), 'an access token is required'],
        [await issuer.mint(issuer.accessClaims({ aud: 'billing' })), 'token aud claim is not accepted'],
        ['abc.def.ghi', 'token is malformed or its signature does not verify'],
      ];
      for (const [token, message] of cases) {
        const res = await get('/me', `Bearer ${token}`);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
        expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message });
      }
    });

    it('@Public lets a request through without a token', async () => {
      const res = await get('/open');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ open: true });
    });

    it('@Roles: 403 insufficient_scope for another role, 200 for the role', async () => {
      const peer = await get('/admin', `Bearer ${await issuer.mint()}`);
      expect(peer.status).toBe(403);
      expect(peer.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope"');
      expect(peer.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'this route requires one of the roles ROLE_ADMIN' });
      expect((await get('/admin', `Bearer ${await issuer.mint(issuer.accessClaims({ role: 'ROLE_ADMIN' }))}`)).status).toBe(200);
      // Authentication comes first: no token on a role-restricted route is a 401, not a 403.
      expect((await get('/admin')).status).toBe(401);
    });

    it('@Roles on a class applies to its handlers; on a handler it overrides the class', async () => {
      const token = async (role: string) => `Bearer ${await issuer.mint(issuer.accessClaims({ role }))}`;
      expect((await get('/services', await token('ROLE_SERVICE'))).status).toBe(200);
      expect((await get('/services', await token('ROLE_ADMIN'))).status).toBe(403);
      expect((await get('/services/shared', await token('ROLE_ADMIN'))).status).toBe(200);
      expect((await get('/services/shared', await token('ROLE_PEER'))).status).toBe(403);
    });

    it('503 when the key set cannot be fetched: the token may be good', async () => {
      const down = await startTestJwksIssuer();
      down.status = 502;
      @Module({
        imports: [SigauthGuardModule.forRoot({ jwksUrl: down.jwksUrl, issuer: 'sigauth', audience: 'sigauth' })],
        controllers: [GlobalGuardController],
        providers: [{ provide: APP_GUARD, useExisting: SigauthAuthGuard }],
      })
      class DownModule {}
      const other = await boot({ module: DownModule });
      try {
        const res = await other.get('/me', `Bearer ${await down.mint()}`);
        expect(res.status).toBe(503);
        expect(res.headers.get('www-authenticate')).toBeNull();
        expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the token could not be verified, try again later' });
      } finally {
        await other.app.close();
        await down.close();
      }
    });
  });

  describe('per route, configured with forRootAsync from an injected provider', () => {
    let service: Booted;

    beforeAll(async () => {
      @Module({
        imports: [
          SigauthGuardModule.forRootAsync({
            imports: [SettingsModule.with(issuer.jwksUrl)],
            inject: [ServiceSettings],
            useFactory: async (settings: ServiceSettings) => ({ jwksUrl: settings.jwksUrl, issuer: 'sigauth', audience: 'sigauth' }),
          }),
          FeatureModule,
        ],
      })
      class AppModule {}
      service = await boot({ module: AppModule });
    });
    afterAll(() => service.app.close());

    it('guards the handler it is applied to and leaves the others alone', async () => {
      const ok = await service.get('/local', `Bearer ${await issuer.mint()}`);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ acc: 'alice@wonderland' });
      expect((await service.get('/local')).status).toBe(401);
      expect((await service.get('/local/unguarded')).status).toBe(200);
    });
  });

  it('refuses to boot with options that cannot work', async () => {
    @Module({ imports: [SigauthGuardModule.forRoot({ jwksUrl: 'not a url', issuer: 'sigauth', audience: 'sigauth' })] })
    class BadModule {}
    await expect(NestFactory.create(BadModule, new FastifyAdapter(), { logger: false, abortOnError: false })).rejects.toThrow(
      'SigauthGuardModule: jwksUrl must be an http(s) URL',
    );
  });
});
