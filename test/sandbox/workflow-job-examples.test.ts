import examples from '@octokit/webhooks-examples' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import copied from '../../functions/adapters/sandbox/workflow-job-examples.json' with { type: 'json' };

type Example = Record<string, unknown> & { action: string; workflow_job?: { status?: string }; installation?: unknown };

describe('sandbox workflow_job examples', () => {
  it('are the package examples the simulator used to read: one per action, with an installation when there is one', () => {
    const group = (examples as unknown as { name: string; examples: Example[] }[]).find(
      (g) => g.name === 'workflow_job',
    );
    const expected = Object.fromEntries(
      (['queued', 'in_progress', 'completed'] as const).map((action) => {
        const candidates = (group?.examples ?? []).filter(
          (e) => e.action === action && e.workflow_job?.status === action,
        );
        return [action, candidates.find((e) => e.installation) ?? candidates[0]];
      }),
    );
    expect(copied).toEqual(expected);
    for (const action of ['queued', 'in_progress', 'completed'] as const) expect(copied[action]).toBeDefined();
  });
});
