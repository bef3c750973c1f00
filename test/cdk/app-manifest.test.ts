import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(readFileSync('app-manifest.json', 'utf8')) as {
  default_permissions: Record<string, string>;
  default_events: string[];
  public: boolean;
  hook_attributes: { active: boolean };
};

describe('app-manifest.json', () => {
  it('asks for the minimal permissions: runner administration, actions read, metadata', () => {
    expect(manifest.default_permissions).toEqual({ administration: 'write', actions: 'read', metadata: 'read' });
  });

  it('subscribes to workflow_job only, with an active webhook, as a private App', () => {
    expect(manifest.default_events).toEqual(['workflow_job']);
    expect(manifest.hook_attributes.active).toBe(true);
    expect(manifest.public).toBe(false);
  });
});
