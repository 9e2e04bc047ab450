#!/usr/bin/env node
// The CLI entry of the installed package: the compiled code in dist/ (built by `npm install`'s prepare step).
await import('../dist/main.js');
