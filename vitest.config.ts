import { defineConfig } from 'vitest/config'

/**
 * The integration tests run once per engine, one engine after the other (sequence.groupOrder):
 * dockerd 20.10 (the system's) and 26.1 (.cache/dockerd26, scripts/install-test-deps.sh). Each
 * project's global setup starts its own private engine (test/support/global-setup.ts); the
 * project name, shown on every file and failure, says which engine ran.
 */
/**
 * The container image is built and run against one engine only: it takes minutes to build, and
 * what it proves (the image's defaults, healthcheck, compose file, self-protection by name in a
 * container) does not depend on the engine's version; self-protection by every name is proven on
 * both engines by hardening.test.ts.
 */
const IMAGE_TESTS = ['test/integration/image.test.ts', 'test/integration/image-self.test.ts', 'test/integration/compose.test.ts']

function integration(engineVersion: '20.10' | '26.1', groupOrder: number) {
  return {
    test: {
      name: `integration-${engineVersion}`,
      include: ['test/integration/**/*.test.ts'],
      exclude: engineVersion === '20.10' ? [] : IMAGE_TESTS,
      globalSetup: ['test/support/global-setup.ts'],
      provide: { engineVersion },
      fileParallelism: false,
      sequence: { groupOrder },
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  }
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // A guard against hangs, not a speed limit: property tests run thousands of cases and the
          // generator test parses both specs; on a loaded 2-core machine that takes more than
          // vitest's 5 s default. Not a timing assertion.
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      integration('20.10', 1),
      integration('26.1', 2),
    ],
  },
})
