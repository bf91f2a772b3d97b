import unit from './jest.config.js';

/** End-to-end tests: boot AppModule over HTTP against a real PostgreSQL (test/global-setup.ts). */
export default {
  ...unit,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60000,
};
