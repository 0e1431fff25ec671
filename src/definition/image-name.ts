/** What an image may be called: kebab-case. Apart from the schema so that `resolve` can check a name without loading zod. */
export const imageNamePattern = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
