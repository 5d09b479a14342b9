/**
 * The emulator's clock: real time moved by an offset. Every time the emulator records or compares (image push times,
 * tag times, token and upload expiry) comes from here, so that a test can move time forward (or back) and exercise
 * age-based rules without waiting: `startEmulator({ clockOffsetSeconds })`, `emulator.setClockOffset(seconds)`, or
 * `serve --clock-offset SECONDS`.
 */
/** 9999-12-31T23:59:59Z, the last second a four-digit ISO 8601 year can say. */
const LATEST_SECONDS = 253_402_300_799;

export class Clock {
  private offsetSeconds = 0;

  constructor(offsetSeconds = 0) {
    this.setOffset(offsetSeconds);
  }

  /** Epoch seconds (fractional) as the emulator sees them. */
  public now(): number {
    return Date.now() / 1000 + this.offsetSeconds;
  }

  /**
   * Moves the clock to real time plus `seconds`. The clock must stay on a date every client can read (1970-01-01 to
   * 9999-12-31, what ISO 8601 timestamps and the AWS SDK's parsers take): times it gives are stored with images.
   */
  public setOffset(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new Error(`the clock offset must be a finite number of seconds (got ${seconds})`);
    const at = Date.now() / 1000 + seconds;
    if (at < 0 || at > LATEST_SECONDS) {
      throw new Error(`the clock offset ${seconds} s would put the emulator's clock at ${at.toFixed(0)} s since 1970, outside `
        + '1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z');
    }
    this.offsetSeconds = seconds;
  }

  public get offset(): number {
    return this.offsetSeconds;
  }
}
