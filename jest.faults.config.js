import unit from './jest.config.js';

/**
 * Fault tests: real service processes (`node dist/server/main.js`, built first) against real
 * PostgreSQL servers, some of which the tests stop and start. Run in band: they measure time.
 */
export default {
  ...unit,
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.faults-spec.ts'],
  testTimeout: 90000,
};
