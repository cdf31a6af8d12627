/** Why a build context cannot be checked; context-scan.ts turns it into a DockgateError. */
export class ContextError extends Error {
  constructor(
    /** 'unreadable': malformed or unsupported (400); 'too-large': the Dockerfile is over the limit (413). */
    readonly kind: 'unreadable' | 'too-large',
    message: string,
  ) {
    super(message)
    this.name = 'ContextError'
  }
}

export function unreadable(message: string): ContextError {
  return new ContextError('unreadable', message)
}
