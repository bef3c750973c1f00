/**
 * Runner log lines as the real actions/runner prints them: stdout/stderr (`<time>Z: …`), `_diag`
 * (`[<time>Z ERR  Component] …`), and as they arrive through CloudWatch Logs, journald or a terminal
 * with colours. Shared by the classifier and filter-pattern specifications.
 */
import type { FailureClass } from '../../functions/domain/failure-class.ts';

export interface LogLineCase {
  name: string;
  line: string;
  class: FailureClass;
  signature: string;
}

const BROKER = 'https://broker.actions.githubusercontent.com/message';
const BAD_REQUEST_OLD = `Failed to get job message. Request to ${BROKER} failed with status: BadRequest. Error message Error: Bad Request`;

/** The line runner/bootstrap.sh prints before exit 4 (test/runner/bootstrap.test.ts checks the script prints it). */
export const CHECKSUM_MISMATCH_LINE =
  'jit-runners bootstrap: error: checksum mismatch for runner version 2.330.0 (actions-runner-linux-x64-2.330.0.tar.gz): expected sha256 af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a, got 0000000000000000000000000000000000000000000000000000000000000000; refusing to run it';

export const MATCHING_LINES: readonly LogLineCase[] = [
  {
    name: "the bootstrap's checksum mismatch line",
    line: CHECKSUM_MISMATCH_LINE,
    class: 'checksum-mismatch',
    signature: 'bootstrap-checksum-mismatch',
  },
  {
    name: "the bootstrap's checksum mismatch line as the EC2 log file ships it (colours, CR)",
    line: `\u001b[0m${CHECKSUM_MISMATCH_LINE}\r`,
    class: 'checksum-mismatch',
    signature: 'bootstrap-checksum-mismatch',
  },
  {
    name: 'stdout connect error (older runners)',
    line: `2026-11-23 05:40:01Z: Runner connect error: ${BAD_REQUEST_OLD}. Retrying until reconnected.`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: 'stdout connect error (newer runners)',
    line: '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message: Error: Bad Request. Retrying until reconnected.',
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: '_diag retriable exception',
    line: `[2026-11-23 05:40:01Z INFO MessageListener] Retriable exception: ${BAD_REQUEST_OLD}`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: '_diag terminal echo of the connect error',
    line: `[2026-11-23 05:40:01Z ERR  Terminal] WRITE ERROR: 2026-11-23 05:40:01Z: Runner connect error: ${BAD_REQUEST_OLD}. Retrying until reconnected.`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: '_diag exception on a GHES broker host',
    line: '[2026-11-23 05:40:01Z ERR  BrokerServer] System.Exception: Failed to get job message. Request to https://ghes.example.com/_services/broker/message failed with status: BadRequest. Error message Error: Bad Request',
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: 'CloudWatch Logs event with its own timestamp and stream prefix',
    line: `2026-11-23T05:40:01.123Z jr-4242-1 2026-11-23 05:40:01Z: Runner connect error: ${BAD_REQUEST_OLD}. Retrying until reconnected.`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: 'CloudWatch agent copy of _diag with a [RUNNER …] prefix',
    line: `[RUNNER 2026-11-23 05:40:01Z ERR  Runner] System.Exception: ${BAD_REQUEST_OLD}`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: 'journald line from an EC2 runner service',
    line: `Nov 23 05:40:01 ip-10-0-1-23 run.sh[1435]: 2026-11-23 05:40:01Z: Runner connect error: ${BAD_REQUEST_OLD}. Retrying until reconnected.`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: 'terminal output with ANSI colours and CRLF',
    line: `\u001b[31m2026-11-23 05:40:01Z: Runner connect error: ${BAD_REQUEST_OLD}. Retrying until reconnected.\u001b[0m\r`,
    class: 'metadata-missing',
    signature: 'broker-bad-request',
  },
  {
    name: 'broker BadRequest whose message is breaker open',
    line: `2026-11-23 05:41:12Z: Runner connect error: Failed to get job message. Request to ${BROKER} failed with status: BadRequest. Error message breaker open. Retrying until reconnected.`,
    class: 'breaker-open',
    signature: 'breaker-open',
  },
  {
    name: '_diag line with a breaker open body',
    line: '[2026-11-23 05:41:12Z ERR  GitHubActionsService] GET request to https://broker.actions.githubusercontent.com/message failed. HTTP Status: ServiceUnavailable, Body: breaker open',
    class: 'breaker-open',
    signature: 'breaker-open',
  },
  {
    name: 'deprecated version on stdout',
    line: '2026-11-23 05:40:02Z: An error occured: Forbidden Runner version v2.300.0 is deprecated and cannot receive messages.',
    class: 'version-deprecated',
    signature: 'version-deprecated',
  },
  {
    name: 'deprecated version in _diag',
    line: '[2026-11-23 05:40:02Z ERR  Runner] GitHub.DistributedTask.WebApi.AccessDeniedException: Forbidden Runner version v2.300.0 is deprecated and cannot receive messages.',
    class: 'version-deprecated',
    signature: 'version-deprecated',
  },
  {
    name: 'out-of-date version from config.sh',
    line: 'Http response code: NotFound from \'POST https://api.github.com/actions/runner-registration\' {"message":"Your runner version is out of date and can no longer register with GitHub."}',
    class: 'version-deprecated',
    signature: 'version-out-of-date',
  },
  {
    name: 'session refused: registration deleted',
    line: '[2026-11-23 05:40:03Z ERR  Terminal] WRITE ERROR: Failed to create a session. The runner registration has been deleted from the server, please re-configure. Runner registrations are automatically deleted for runners that have not connected to the service recently.',
    class: 'registration-gone',
    signature: 'session-registration-deleted',
  },
  {
    name: 'registration deleted (other wording)',
    line: '2026-11-23 05:40:03Z: The runner registration has been deleted from the server, please re-configure.',
    class: 'registration-gone',
    signature: 'registration-deleted',
  },
  {
    name: 'runner no longer exists',
    line: 'The runner no longer exists on the server. Please reconfigure the runner.',
    class: 'registration-gone',
    signature: 'runner-no-longer-exists',
  },
  {
    name: 'session conflict',
    line: '[2026-11-23 05:40:04Z ERR  Terminal] WRITE ERROR: A session for this runner already exists.',
    class: 'transient',
    signature: 'session-conflict',
  },
  {
    name: 'clock skew',
    line: "The local machine's clock may be out of sync with the server time by more than five minutes. Please sync your clock with your domain or internet time and try again.",
    class: 'config',
    signature: 'clock-skew',
  },
];

/** Lines that look close to a signature but must not be classified. */
export const NEAR_MISSES: readonly { name: string; line: string }[] = [
  { name: 'a workflow step echoing BadRequest alone', line: '2026-11-23 05:40:05Z: BadRequest' },
  {
    name: 'a step printing an HTTP 400 it expected',
    line: 'curl: (22) The requested URL returned error: 400 Bad Request',
  },
  {
    name: 'Failed to get job message with another status',
    line: '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message: Error: Service Unavailable. upstream connect error or disconnect/reset before headers. reset reason: overflow. Retrying until reconnected.',
  },
  {
    name: 'Failed to get job message with NotFound (broker migration)',
    line: `[2026-11-23 05:40:01Z ERR  BrokerServer] System.Exception: Failed to get job message. Request to ${BROKER} failed with status: NotFound. Error message Error: Not Found`,
  },
  { name: 'BadRequest before the phrase, not after it', line: 'BadRequest seen; Failed to get job message' },
  { name: '"open breaker" in prose', line: 'Remember to open breaker 3 before servicing the panel' },
  { name: 'breaker open in prose without an error', line: 'We left the breaker open overnight' },
  {
    name: 'a plain connect error the runner recovers from',
    line: '2026-11-23 05:40:01Z: Runner connect error: Connection refused. Retrying until reconnected.',
  },
  { name: 'runner reconnected', line: '2026-11-23 05:40:20Z: Runner reconnected.' },
  { name: 'listening for jobs', line: '2026-11-23 05:40:00Z: Listening for Jobs' },
  { name: 'current runner version', line: "Current runner version: '2.330.0'" },
  { name: 'a version that is not deprecated', line: 'Runner version v2.330.0 is current' },
  { name: 'a registration that was created', line: 'The runner registration has been created' },
  {
    name: 'a step talking about a checksum mismatch for a runner version, without the bootstrap prefix',
    line: 'warning: checksum mismatch for runner version 2.330.0 in my cache',
  },
  {
    name: "the bootstrap's prefix on a line that names no exact version",
    line: 'jit-runners bootstrap: error: checksum mismatch for runner version latest',
  },
  { name: 'an empty line', line: '' },
  { name: 'only blanks and colour codes', line: '\u001b[0m   \r' },
];
