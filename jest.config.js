const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
}];

/** Unit tests: *.spec.ts beside the code. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The guard workspace package from its sources, as the type-check sees it (tsconfig.json paths).
    '^@sigauth/guard$': '<rootDir>/packages/guard/src/index.ts',
    '^@sigauth/guard/dpop$': '<rootDir>/packages/guard/src/dpop-proof.ts',
  },
  roots: ['<rootDir>/src', '<rootDir>/packages/guard/src'],
  testMatch: ['**/*.spec.ts'],
};
