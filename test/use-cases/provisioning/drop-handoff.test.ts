import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { Config } from '../../../functions/config/config.ts';
import type { JobProgress } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { createDropHandoff } from '../../../functions/use-cases/provisioning/drop-handoff.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { testCore } from '../../support/test-provisioner.ts';

/** A launcher that hands off out of band (CodeBuild/EC2 in AWS), recording what it was asked to delete. */
class HandingOffLauncher extends RecordingLauncher {
  readonly dropped: string[] = [];
  failDrops = false;
  async dropHandoff(runnerName: string): Promise<void> {
    if (this.failDrops) throw new Error('ssm:DeleteParameter failed: ThrottlingException');
    this.dropped.push(runnerName);
  }
}

const config: Config = provisionConfig(undefined);
const progress = (action: JobProgress['action'], runnerName: string | null): JobProgress => ({
  action,
  jobId: 42,
  owner: 'octo',
  repo: 'repo',
  scopeKey: 'octo/repo',
  installationId: 1,
  runnerName,
  conclusion: action === 'completed' ? 'success' : null,
  at: 1_000,
});

describe('createDropHandoff', () => {
  let launcher: HandingOffLauncher;
  let logger: CaptureLogger;
  beforeEach(() => {
    launcher = new HandingOffLauncher();
    logger = new CaptureLogger();
  });
  const drop = () => createDropHandoff({ config, launcher, logger });

  it('deletes the hand-off of our runner once its job is in progress or completed: it read its config to get there', async () => {
    await drop().onProgress(progress('in_progress', 'jr-42-1'));
    await drop().onProgress(progress('completed', 'jr-42-1'));
    expect(launcher.dropped).toEqual(['jr-42-1', 'jr-42-1']);
  });

  it('leaves alone a waiting job, a job without a runner, and runners this fleet did not mint', async () => {
    await drop().onProgress(progress('waiting', 'jr-42-1'));
    await drop().onProgress(progress('in_progress', null));
    await drop().onProgress(progress('in_progress', 'someone-elses-runner'));
    expect(launcher.dropped).toEqual([]);
  });

  it('deletes the hand-off of a runner whose build or instance ended, a workaround runner included', async () => {
    await drop().onRunnerEnded('jr-42-1');
    await drop().onRunnerEnded('jr-baseline-octo-repo-ab12');
    expect(launcher.dropped).toEqual(['jr-42-1', 'jr-baseline-octo-repo-ab12']);
  });

  it('logs a failed delete and leaves it to the expiration, without throwing', async () => {
    launcher.failDrops = true;
    await expect(drop().onRunnerEnded('jr-42-1')).resolves.toBeUndefined();
    expect(logger.text()).toContain('cannot delete the hand-off; its expiration will');
  });

  it('does nothing for a launcher that hands nothing off (local)', async () => {
    const local = new RecordingLauncher();
    await createDropHandoff({ config, launcher: local, logger }).onRunnerEnded('jr-42-1');
    expect(logger.lines).toEqual([]);
  });
});

describe('the core deletes hand-offs on the progress and runner signals it already receives', () => {
  it('an in_progress delivery and an ended platform state each delete the runner’s hand-off', async () => {
    const launcher = new HandingOffLauncher();
    const core = testCore({ config, store: createMemoryStore(), github: new FakeGitHub(), launcher, now: () => 1_000 });
    for (const listener of core.progressListeners) await listener(progress('in_progress', 'jr-42-1'));
    expect(launcher.dropped).toEqual(['jr-42-1']);
    await core.handleRunnerSignal({ kind: 'state', runnerName: 'jr-7-1', state: 'STOPPED', at: 1_000 });
    await core.handleRunnerSignal({ kind: 'state', runnerName: 'i-runner', state: 'terminated', at: 1_000 });
    await core.handleRunnerSignal({ kind: 'exit', runnerName: 'jr-8-1', code: 0, at: 1_000 });
    expect(launcher.dropped).toEqual(['jr-42-1', 'jr-7-1', 'i-runner', 'jr-8-1']);
    // A log line is no end: the runner may still be reading its hand-off.
    await core.handleRunnerSignal({
      kind: 'log',
      runnerName: 'jr-9-1',
      line: 'Listening for Jobs',
      source: 't',
      at: 1_000,
    });
    expect(launcher.dropped).not.toContain('jr-9-1');
  });
});
