import { expect } from 'vitest';
import { ProviderError } from '../../src/chain/provider.js';

/** the ProviderError `promise` rejects with; fails the test if it resolves or rejects with anything else */
export async function providerRejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}
