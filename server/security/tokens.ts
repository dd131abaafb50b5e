// A bearer token that may come from a file and follows the file: rotating a
// Kubernetes Secret (or rewriting the file) takes effect without a restart.
// The file is polled (fs.watchFile: a stat per interval, which follows the
// symlink swap kubelet does on Secret updates, where fs.watch events are
// unreliable). A file that turns unreadable or empty keeps the last token.
import fs from "node:fs";
import type { Logger } from "pino";

/** How often a token file is checked for changes. */
export const TOKEN_POLL_MS = 1000;

export class TokenSource {
  private token: string | undefined;
  private readonly listener?: (cur: fs.Stats, prev: fs.Stats) => void;

  constructor(
    readonly flag: string,
    initial: string | undefined,
    private readonly file: string | undefined,
    private readonly logger: Logger,
    intervalMs = TOKEN_POLL_MS,
  ) {
    this.token = initial;
    if (file) {
      this.listener = () => this.reload();
      // persistent: false — the watch never keeps the process alive.
      fs.watchFile(file, { interval: intervalMs, persistent: false }, this.listener);
    }
  }

  /** The current token; undefined = none configured. */
  get value(): string | undefined {
    return this.token;
  }

  private reload(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file!, "utf8");
    } catch (err) {
      this.logger.warn({ flag: this.flag, file: this.file, err: (err as Error).message }, "token file unreadable; keeping the previous token");
      return;
    }
    const t = text.trim();
    if (!t) {
      this.logger.warn({ flag: this.flag, file: this.file }, "token file empty; keeping the previous token");
      return;
    }
    if (t === this.token) return;
    this.token = t;
    this.logger.info({ flag: this.flag, file: this.file }, "token file changed: new token in effect");
  }

  close(): void {
    if (this.file && this.listener) fs.unwatchFile(this.file, this.listener);
  }
}
