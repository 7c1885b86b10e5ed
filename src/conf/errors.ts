/**
 * Errors of the NATS configuration format. Messages keep nats-server's exact wording (operators
 * grep for them and scripts compare them), while `file`, `line` and `col` give tools a position
 * even for the messages where nats-server prints none.
 */

/** Where a value came from. `col` follows nats-server: 0-based on line 1, 1-based after it. */
export interface Position {
  file: string;
  line: number;
  col: number;
}

export class ConfigError extends SyntaxError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The problem without its position prefix. */
  readonly reason: string;
  /** Every problem found, first one first; a lone error lists itself. */
  errors: ConfigError[];

  constructor(message: string, pos: Position, reason: string = message) {
    super(message);
    this.name = "ConfigError";
    this.file = pos.file;
    this.line = pos.line;
    this.col = pos.col;
    this.reason = reason;
    this.errors = [this];
  }

  /** An error that points into the file, printed as nats-server's `file:line:col: reason`. */
  static at(pos: Position, reason: string): ConfigError {
    return new ConfigError(`${pos.file}:${pos.line}:${pos.col}: ${reason}`, pos, reason);
  }

  /**
   * One error carrying several, as nats-server reports a config with many problems: warnings then
   * errors in the message (its order), the first error's position on the error itself.
   */
  static collect(errors: ConfigError[], warnings: ConfigError[] = []): ConfigError {
    if (errors.length === 1 && warnings.length === 0) return errors[0];
    const first = errors[0];
    const lines = [...warnings, ...errors].map((e) => e.message).join("\n");
    const all = new ConfigError(lines, first, first.reason);
    all.errors = errors.slice();
    return all;
  }
}
