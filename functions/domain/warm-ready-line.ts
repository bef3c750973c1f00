/**
 * The line a warm runner's bootstrap prints on AWS once its runner is extracted and verified and it starts
 * waiting for its hand-off (runner/bootstrap.sh, warm mode). It reaches runner-events through the runner log
 * subscription, whose filter selects {@link WARM_READY_PHRASE} beside the failure signatures, and moves the
 * warm runner's record from `booting` to `ready` (claims prefer ready runners). The local launcher knows
 * readiness from its wrapper directly and never needs the line.
 *
 * `jit-runners bootstrap: warm runner ready: jr-warm-linux-x64-3b2e7478 (runner 2.330.0, verified); …`
 */
export const WARM_READY_PHRASE = 'jit-runners bootstrap: warm runner ready';

const WARM_READY_LINE = /jit-runners bootstrap: warm runner ready: ([A-Za-z0-9][A-Za-z0-9._-]*)(?:\s|$)/;

/** The warm runner a ready line names, or undefined when `line` is not one. */
export function warmReadyName(line: string): string | undefined {
  if (!line.includes(WARM_READY_PHRASE)) return undefined;
  return WARM_READY_LINE.exec(line)?.[1];
}
