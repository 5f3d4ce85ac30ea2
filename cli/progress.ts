/** A byte count as people read it: 812 B, 48.2 KB, 14.7 MB. */
export function formatBytes (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** Progress of long work on stderr: one updating line on a terminal, plain lines otherwise (logs, CI). */
export class Progress {
  private readonly live: boolean
  private lastPlainStep = -1

  constructor (private readonly stream: NodeJS.WritableStream & { isTTY?: boolean }) {
    this.live = stream.isTTY === true
  }

  step (message: string): void {
    this.stream.write(this.live ? `\r\x1b[K${message}` : `${message}\n`)
  }

  bytes (received: number, total: number | undefined): void {
    const message = `downloading: ${formatBytes(received)}${total === undefined ? '' : ` of ${formatBytes(total)}`}`
    if (this.live) return this.step(message)
    // Without a terminal, one line per megabyte is enough to see that it moves.
    const plainStep = Math.floor(received / (1024 * 1024))
    if (plainStep !== this.lastPlainStep) { this.lastPlainStep = plainStep; this.step(message) }
  }

  /** Ends the work: on a terminal the live line is replaced by `message`. */
  done (message: string): void {
    this.step(message)
    if (this.live) this.stream.write('\n')
  }
}
