/**
 * The emulator's clock: real time moved by an offset. Every time the emulator records or compares (image push times,
 * tag times, token and upload expiry) comes from here, so that a test can move time forward (or back) and exercise
 * age-based rules without waiting: `startEmulator({ clockOffsetSeconds })`, `emulator.setClockOffset(seconds)`, or
 * `serve --clock-offset SECONDS`.
 */
export class Clock {
  private offsetSeconds = 0;

  constructor(offsetSeconds = 0) {
    this.setOffset(offsetSeconds);
  }

  /** Epoch seconds (fractional) as the emulator sees them. */
  public now(): number {
    return Date.now() / 1000 + this.offsetSeconds;
  }

  /** Moves the clock to real time plus `seconds`. */
  public setOffset(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new Error(`the clock offset must be a finite number of seconds (got ${seconds})`);
    this.offsetSeconds = seconds;
  }

  public get offset(): number {
    return this.offsetSeconds;
  }
}
