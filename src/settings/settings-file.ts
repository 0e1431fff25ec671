/** Where a project's pipeline settings live, relative to its root. Its own module so that naming it loads nothing else. */
export const settingsFile = 'pipeline/settings.ts';
