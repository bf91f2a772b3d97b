import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { PreRoutingExceptionFilter, StatusTableRegistry } from './status-table-registry.js';
import { validationPipe } from './validation.js';

/**
 * What every API shares on the wire: the validation pipe and the global filter for errors that no
 * controller's own status table caught (those met before routing). Registered as APP_ providers
 * so that tests boot exactly what production runs.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [StatusTableRegistry, { provide: APP_FILTER, useClass: PreRoutingExceptionFilter }, { provide: APP_PIPE, useValue: validationPipe }],
  exports: [StatusTableRegistry],
})
export class HttpModule {}
