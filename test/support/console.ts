import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { adminAccounts } from '../../src/console/admin-accounts.js';
import { systemClock } from '../../src/lib/clock.js';
import { sqlAdminStore } from '../../src/store/console/index.js';
import type { TestGateway } from './gateway.js';
import { HARNESS_ACTOR } from './gateway.js';

export const ADMIN_EMAIL = 'ops@example.com';
export const ADMIN_PASSWORD = 'correct horse battery staple';

/** Where screenshots of the console go: kept with the test output, not in the repository. */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-output', 'console');

/** An administrator with a chosen password (no one-time password to change first), as `admin create --password-stdin` makes one. */
export async function createAdmin(gw: TestGateway, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<void> {
  await gw.db((db) => adminAccounts({ admins: sqlAdminStore(db) }, { clock: systemClock }).create(email, HARNESS_ACTOR, password));
}

export function consoleUrl(gw: TestGateway, path = ''): string {
  return `http://127.0.0.1:${gw.gateway.ports.http}/console${path}`;
}

/** Signs in through the form, as a person would; resolves on the page signing in leads to. */
export async function signInConsole(page: Page, gw: TestGateway, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(consoleUrl(gw, '/sign-in'));
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** A full-page PNG under test-output/console/, its path printed so a reader of the test output finds it. */
export async function consoleScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`# screenshot: ${path}\n`);
  return path;
}
