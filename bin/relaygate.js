#!/usr/bin/env node
// The CLI entry of the installed package: the compiled code in dist/ (built by `npm install`'s prepare step).
import module from 'node:module';

// V8's code cache on disk (Node >= 22.1; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a command
// then reads the compiled code of its few hundred modules instead of compiling them again.
// Node 20 has no such API and runs without it; the call never throws, nor warns.
if (typeof module.enableCompileCache === 'function') module.enableCompileCache();
await import('../dist/main.js');
