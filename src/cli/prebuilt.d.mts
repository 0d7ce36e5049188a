// Types of prebuilt.mjs (plain JavaScript so that bin/rankscope.js can load it without type stripping).
export declare const PREBUILT_COMMANDS: readonly string[];
export declare function loadPrebuiltCommand(root: string, name: string): Promise<{ run(argv: string[]): Promise<number> } | undefined>;
