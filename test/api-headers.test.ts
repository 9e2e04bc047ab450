import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';

describe('API response headers', () => {
  let gw: TestGateway;
  let token: string;
  before(async () => {
    gw = await startTestGateway();
    token = await gw.createApiToken('headers');
  });
  after(() => gw?.stop());

  test('every answer under /api carries nosniff and no-store: success, 401, 404, problems, the OpenAPI document and the docs page', async () => {
    const answers = {
      ok: await gw.api('/api/v1/routes', { token }),
      created: await gw.api('/api/v1/routes', { method: 'POST', token, body: { match: 'headers.example.com', action: 'relay' } }),
      invalid: await gw.api('/api/v1/routes', { method: 'POST', token, body: { match: 'a.*.example.com', action: 'relay' } }),
      unauthenticated: await gw.api('/api/v1/routes'),
      badToken: await gw.api('/api/v1/routes', { token: 'rgt_wrong' }),
      unknownInV1: await gw.api('/api/v1/nothing-here', { token }),
      unknownUnderApi: await gw.api('/api/nothing-here'),
      openapi: await gw.api('/api/openapi.json'),
      docs: await gw.api('/api/docs/'),
      docsAsset: await gw.api('/api/docs/static/swagger-ui-bundle.js'),
    };
    const seen = Object.fromEntries(
      Object.entries(answers).map(([name, a]) => [name, [a.status, a.headers.get('x-content-type-options'), a.headers.get('cache-control')]]),
    );
    assert.deepEqual(seen, {
      ok: [200, 'nosniff', 'no-store'],
      created: [201, 'nosniff', 'no-store'],
      invalid: [422, 'nosniff', 'no-store'],
      unauthenticated: [401, 'nosniff', 'no-store'],
      badToken: [401, 'nosniff', 'no-store'],
      unknownInV1: [404, 'nosniff', 'no-store'],
      unknownUnderApi: [404, 'nosniff', 'no-store'],
      openapi: [200, 'nosniff', 'no-store'],
      docs: [200, 'nosniff', 'no-store'],
      docsAsset: [200, 'nosniff', 'no-store'],
    });
    assert.match(answers.docs.headers.get('content-security-policy') ?? '', /^default-src 'none'; script-src 'self'; /);
    // Only the API: the health probe keeps its own headers.
    assert.equal((await gw.api('/healthz')).headers.get('cache-control'), null);
  });

  test('the docs page renders in Chromium under its CSP: assets load, the spec shows, no violation is reported', needsPeer(browserUnavailable()), async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      // Before any script of the page, and not subject to its CSP: every violation the browser reports.
      await page.addInitScript({
        content:
          'globalThis.cspViolations = []; document.addEventListener("securitypolicyviolation", (e) => globalThis.cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sample));',
      });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
      });
      page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
      });
      const answer = await page.goto(`http://127.0.0.1:${gw.gateway.ports.http}/api/docs/`);
      assert.ok(answer?.headers()['content-security-policy']);
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'Relaygate admin API' }).waitFor();
      await page.locator('.opblock-tag', { hasText: 'routes' }).first().waitFor();
      // Expanding an operation renders its schemas: the interactive part works under the CSP too.
      await page.locator('.opblock-summary', { hasText: '/api/v1/routes/{id}' }).first().click();
      await page.getByText('confirm', { exact: true }).first().waitFor();
      assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations), []);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
