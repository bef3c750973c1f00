import type { GitHubPort } from '../../ports/github.ts';

/**
 * A {@link GitHubPort} whose App private key may change while the process lives: before each call it
 * asks `currentKey()` (the secrets loader, cached for `SECRETS_CACHE_SECONDS`) and, when the key differs
 * from the one its client was built with, builds a new client. Why a new client: auth-app signs App JWTs
 * with the key it was given and caches installation tokens minted with it; a rotation must replace both.
 * Calls already in flight finish on the old client.
 */
export function rotatingKeyGitHub(
  currentKey: () => Promise<string>,
  build: (privateKey: string) => GitHubPort,
): GitHubPort {
  let built: { key: string; client: GitHubPort } | undefined;
  const client = async (): Promise<GitHubPort> => {
    const key = await currentKey();
    if (built?.key !== key) built = { key, client: build(key) };
    return built.client;
  };
  /** One port method, delegated to the client of the current key (typed per method: none can be missed). */
  const via = <K extends keyof GitHubPort>(method: K): GitHubPort[K] =>
    // biome-ignore lint/suspicious/noExplicitAny: each method's own parameters pass through unchanged
    (async (...args: any[]) => ((await client())[method] as (...a: any[]) => Promise<unknown>)(...args)) as never;
  return {
    generateJitConfig: via('generateJitConfig'),
    createRegistrationToken: via('createRegistrationToken'),
    createRemoveToken: via('createRemoveToken'),
    listRunners: via('listRunners'),
    getRunner: via('getRunner'),
    findRunnerByName: via('findRunnerByName'),
    deleteRunner: via('deleteRunner'),
    getWorkflowJob: via('getWorkflowJob'),
    listWorkflowRuns: via('listWorkflowRuns'),
    listWorkflowRunJobs: via('listWorkflowRunJobs'),
    listHookDeliveries: via('listHookDeliveries'),
    redeliver: via('redeliver'),
    findInstallation: via('findInstallation'),
    listRunnerReleases: via('listRunnerReleases'),
    installationPermissions: via('installationPermissions'),
    createCheckRun: via('createCheckRun'),
    findCheckRun: via('findCheckRun'),
  };
}
