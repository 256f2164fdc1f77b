/** The command line was called wrongly: exit 2 with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The input cannot be used: exit 1 with this one line, no stack trace. */
export class UserFacingError extends Error {
  override name = 'UserFacingError';
}
