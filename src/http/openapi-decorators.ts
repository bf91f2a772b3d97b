import type * as SwaggerPackage from '@nestjs/swagger';

/**
 * The OpenAPI decorators the controllers and DTOs use, with @nestjs/swagger left unloaded until the
 * document is first asked for. The package's entry point and its decorators load some 530 modules
 * (es-toolkit's compat build among them), close to half of what a worker would load at boot, for
 * metadata that only the document reads. So each decorator here records where it was applied
 * (class, property or method, with its descriptor) and what to apply; `loadSwagger()` imports the
 * package and applies the real decorators there, in the order TypeScript ran these, before the
 * document is built. The metadata is then the same as if they had run at class definition.
 * Validation, routing and everything else a request uses never read it.
 */

export type Swagger = typeof SwaggerPackage;
export type AnyDecorator = MethodDecorator & ClassDecorator & PropertyDecorator;
export type DecoratorCall = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => unknown;
export type ReferenceObject = SwaggerPackage.ReferenceObject;
export type SchemaObject = SwaggerPackage.SchemaObject;

const pending: Array<(swagger: Swagger) => void> = [];
let swagger: Swagger | undefined;
let loading: Promise<Swagger> | undefined;

/**
 * A decorator whose work needs @nestjs/swagger: `decoration` is called with the package once it is
 * loaded and gives the decorator to apply where this one was. Applied at once when it already is.
 */
export function deferred(decoration: (swagger: Swagger) => DecoratorCall): AnyDecorator {
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const apply = (loaded: Swagger): void => void decoration(loaded)(target, key, descriptor);
    if (swagger) apply(swagger);
    else pending.push(apply);
  }) as AnyDecorator;
}

/** @nestjs/swagger, with every decorator recorded so far applied. */
export function loadSwagger(): Promise<Swagger> {
  loading ??= import('@nestjs/swagger').then((loaded) => {
    for (const apply of pending.splice(0)) apply(loaded);
    swagger = loaded;
    return loaded;
  });
  return loading;
}

/** A reference to a schema registered in the document's components (what getSchemaPath gives for a name). */
export function schemaRef(name: string): ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}

const call =
  <A extends unknown[]>(pick: (swagger: Swagger) => (...args: A) => unknown) =>
  (...args: A): AnyDecorator =>
    deferred((loaded) => pick(loaded)(...args) as DecoratorCall);

export const ApiBasicAuth = call((s) => s.ApiBasicAuth);
export const ApiBearerAuth = call((s) => s.ApiBearerAuth);
export const ApiBody = call((s) => s.ApiBody);
export const ApiConsumes = call((s) => s.ApiConsumes);
export const ApiHeader = call((s) => s.ApiHeader);
export const ApiOperation = call((s) => s.ApiOperation);
export const ApiParam = call((s) => s.ApiParam);
export const ApiProperty = call((s) => s.ApiProperty);
export const ApiPropertyOptional = call((s) => s.ApiPropertyOptional);
export const ApiResponse = call((s) => s.ApiResponse);
export const ApiSecurity = call((s) => s.ApiSecurity);
export const ApiTags = call((s) => s.ApiTags);
