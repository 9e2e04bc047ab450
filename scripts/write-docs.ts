// Writes the generated reference documents; test/docs.test.ts fails when they are stale.
import { writeFile } from 'node:fs/promises';
import { configReferenceMarkdown } from '../src/config/reference.js';
import { openApiDocument } from '../src/api/openapi-document.js';

await writeFile(new URL('../docs/configuration.md', import.meta.url), configReferenceMarkdown());
await writeFile(new URL('../docs/openapi.json', import.meta.url), `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
process.stdout.write('wrote docs/configuration.md and docs/openapi.json\n');
