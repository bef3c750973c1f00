import { GitHubRequestError } from '../../ports/github.ts';

interface AnsweredError {
  status: number;
  response: { data?: unknown };
}

/** An Octokit RequestError that carries GitHub's answer (network failures and timeouts carry none). */
function isAnswered(error: unknown): error is Error & AnsweredError {
  return (
    error instanceof Error &&
    typeof (error as { status?: unknown }).status === 'number' &&
    typeof (error as { response?: unknown }).response === 'object' &&
    (error as { response?: unknown }).response !== null
  );
}

const MAX_BODY = 2_000;

function bodyText(data: unknown): string {
  if (data === undefined || data === null) return '';
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return text.length > MAX_BODY ? `${text.slice(0, MAX_BODY)}…` : text;
}

/** The `message` field of a GitHub error body, when it has one. */
function bodyMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  return typeof data === 'string' && data.trim() ? data.trim().slice(0, 200) : undefined;
}

/**
 * Translates whatever Octokit threw into a {@link GitHubRequestError}. The message is built from the
 * endpoint template, the status and GitHub's own error message only: never from request options, which
 * carry the token (Octokit redacts it, but a template cannot leak what it never holds).
 */
export function toGitHubError(error: unknown, endpoint: string, scopeKey: string | undefined): GitHubRequestError {
  if (error instanceof GitHubRequestError) return error;
  if (isAnswered(error)) {
    const data = error.response.data;
    const detail = bodyMessage(data) ?? 'no error message';
    return new GitHubRequestError(
      `${endpoint} failed with ${error.status}: ${detail}`,
      error.status,
      endpoint,
      bodyText(data),
      scopeKey,
      { cause: error },
    );
  }
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
  return new GitHubRequestError(`${endpoint} failed before an answer (${reason})`, 0, endpoint, '', scopeKey, {
    cause: error,
  });
}

/** The endpoint text of an address in errors and logs: no query (a signed address carries its key there). */
export function addressLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid address)';
  }
}
