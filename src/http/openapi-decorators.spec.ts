import 'reflect-metadata';
import { ApiOperation, ApiProperty, ApiTags, loadSwagger, schemaRef } from './openapi-decorators.js';

// Defined before @nestjs/swagger is loaded: the decorators only record where they were applied.
@ApiTags('early')
class EarlyController {
  @ApiOperation({ summary: 'recorded first' })
  handle(): void {}
}

class EarlyDto {
  @ApiProperty({ example: 'alice@wonderland.space' })
  email!: string;
}

describe('deferred OpenAPI decorators', () => {
  it('record without writing metadata, and write it all when @nestjs/swagger loads', async () => {
    const handle = Object.getOwnPropertyDescriptor(EarlyController.prototype, 'handle')!.value as object;
    expect(Reflect.getMetadataKeys(handle).filter((key) => String(key).startsWith('swagger/'))).toEqual([]);
    expect(Reflect.getMetadataKeys(EarlyController).filter((key) => String(key).startsWith('swagger/'))).toEqual([]);

    const { DECORATORS } = await loadSwagger();

    expect(Reflect.getMetadata(DECORATORS.API_OPERATION, handle)).toMatchObject({ summary: 'recorded first' });
    expect(Reflect.getMetadata(DECORATORS.API_TAGS, EarlyController)).toEqual(['early']);
    expect(Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, EarlyDto.prototype)).toEqual([':email']);
    expect(Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, EarlyDto.prototype, 'email')).toMatchObject({ example: 'alice@wonderland.space', type: String });
  });

  it('apply at once once @nestjs/swagger is loaded, and load it only once', async () => {
    const swagger = await loadSwagger();
    class LateController {
      @ApiOperation({ summary: 'after the load' })
      handle(): void {}
    }
    const handle = Object.getOwnPropertyDescriptor(LateController.prototype, 'handle')!.value as object;
    expect(Reflect.getMetadata(swagger.DECORATORS.API_OPERATION, handle)).toMatchObject({ summary: 'after the load' });
    expect(await loadSwagger()).toBe(swagger);
  });

  it('refer to a component schema as getSchemaPath does', async () => {
    const { getSchemaPath } = await loadSwagger();
    expect(schemaRef('EnvelopeError')).toEqual({ $ref: getSchemaPath('EnvelopeError') });
  });
});
