// Types for cache-folder.js (plain JavaScript, loaded by gild.js before any TypeScript can run).
export declare const debug: (message: string, ...args: unknown[]) => void;
export declare function untrustedFolder(folder: string, user?: number): string | undefined;
export declare function makeTrustedFolder(folder: string): string | undefined;
export declare const isFolderUnwritable: (error: unknown) => boolean;
export declare function writeWhole(file: string, data: string | NodeJS.ArrayBufferView, temporary?: string): void;
