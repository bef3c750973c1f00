import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (the esbuild alias in
 * HANDLER_ESBUILD): every SDK client asks `defaultProvider` for its credentials, and here the answer is
 * the environment variables only. Why that is enough in Lambda: the runtime puts the execution role's
 * credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN of every function, and the
 * default chain's first link is this same `fromEnv` (the chain skips it only when AWS_PROFILE is set,
 * which Lambda never sets). Why replace it: the rest of the chain (SSO, ini files, processes, web
 * identity, container metadata and their STS/SSO clients) is ~120 KB of every bundle that Lambda never
 * runs. Not used outside the bundles: local mode and the tests keep the SDK's default chain.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> => fromEnv(init);
