/**
 * An architecture shown on a repository's Gallery page. The Gallery recognises the constants; `of` passes any other
 * value through (the API stores it, but the Gallery neither shows nor searches it).
 */
export class Architecture {
  /** 32-bit ARM. */
  public static readonly ARM = new Architecture('ARM');
  /** 64-bit ARM (`ARM 64`, with the space, as the Gallery spells it). */
  public static readonly ARM_64 = new Architecture('ARM 64');
  /** 32-bit x86. */
  public static readonly X86 = new Architecture('x86');
  /** 64-bit x86. */
  public static readonly X86_64 = new Architecture('x86-64');

  /** Any architecture value, for values the Gallery may add later. */
  public static of(value: string): Architecture {
    return new Architecture(value);
  }

  /** @param value the catalog value sent to ECR Public */
  private constructor(public readonly value: string) {}
}

/**
 * An operating system shown on a repository's Gallery page. The Gallery recognises the constants; `of` passes any other
 * value through.
 */
export class OperatingSystem {
  /** Linux. */
  public static readonly LINUX = new OperatingSystem('Linux');
  /** Windows. */
  public static readonly WINDOWS = new OperatingSystem('Windows');

  /** Any operating-system value, for values the Gallery may add later. */
  public static of(value: string): OperatingSystem {
    return new OperatingSystem(value);
  }

  /** @param value the catalog value sent to ECR Public */
  private constructor(public readonly value: string) {}
}
