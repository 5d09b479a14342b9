/**
 * The architecture and operating-system values the ECR Public Gallery shows as badges (the constants of the
 * library's `Architecture` and `OperatingSystem`, which a test keeps equal). The API stores any other value, but the
 * Gallery neither shows nor searches it: the preview marks such values so that they are noticed before a deploy.
 */
export const GALLERY_ARCHITECTURES: ReadonlySet<string> = new Set(['ARM', 'ARM 64', 'x86', 'x86-64']);
export const GALLERY_OPERATING_SYSTEMS: ReadonlySet<string> = new Set(['Linux', 'Windows']);
