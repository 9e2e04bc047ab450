import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { SmarthostTarget } from '../src/config/smarthost-url.js';
import type { Courier, OutboundMessage } from '../src/delivery/courier.js';
import { courierRouter, type RoutableConnection } from '../src/delivery/courier-router.js';
import type { DeliveryOutcome } from '../src/model/outcome.js';

/** A courier that records what it was given and can hold a delivery open. */
function recordingCourier(name: string) {
  const delivered: { from: string; to: string[] }[] = [];
  let closed = 0;
  let hold: Promise<void> | undefined;
  const courier: Courier = {
    remote: name,
    async deliver(message) {
      delivered.push({ from: message.mailFrom, to: message.recipients });
      // Only the next delivery is held.
      const held = hold;
      hold = undefined;
      await held;
      const outcome: DeliveryOutcome = { kind: 'delivered', reply: `250 ${name}` };
      return new Map(message.recipients.map((r) => [r, outcome]));
    },
    async close() {
      closed += 1;
    },
  };
  return {
    courier,
    delivered,
    closed: () => closed,
    holdUntil: (p: Promise<void>) => {
      hold = p;
    },
  };
}

const message = (mailFrom: string, recipients: string[]): OutboundMessage => ({
  id: 'Q1',
  direction: 'outbound',
  receivedAt: 0,
  mailFrom,
  recipients,
  sizeBytes: 10,
  openBody: () => Readable.from([Buffer.from('x')]),
});

function setup(refreshMs = 1000) {
  let now = 0;
  let rows: RoutableConnection[] = [];
  const built: { target: SmarthostTarget; recorder: ReturnType<typeof recordingCourier> }[] = [];
  const fallback = recordingCourier('fallback');
  const router = courierRouter({
    connections: { routable: async () => rows },
    fallback: fallback.courier,
    build(target) {
      const recorder = recordingCourier(`${target.host}:${target.port}`);
      built.push({ target, recorder });
      return recorder.courier;
    },
    clock: { now: () => now },
    refreshMs,
  });
  const connection = (id: string, scope: string, port: number, updatedAt = 1): RoutableConnection => ({
    id,
    scope,
    updatedAt,
    target: () => ({ host: 'smarthost.test', port, tls: 'starttls' }),
  });
  return {
    router,
    fallback,
    built,
    connection,
    setRows: (next: RoutableConnection[]) => {
      rows = next;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('courier router: which smarthost takes a message', () => {
  // [envelope sender, recipients, the courier that takes it]
  const cases: [string, string[], string][] = [
    // The address connection wins over its domain's.
    ['billing@example.com', ['a@example.net'], 'smarthost.test:2001'],
    // Scopes compare without case.
    ['Billing@Example.COM', ['a@example.net'], 'smarthost.test:2001'],
    ['support@example.com', ['a@example.net'], 'smarthost.test:2002'],
    // A subdomain is not its parent domain.
    ['support@eu.example.com', ['a@example.net'], 'fallback'],
    ['support@example.org', ['a@example.net'], 'fallback'],
    // A DSN (null sender) goes by its recipient: back to the organisation's own domain.
    ['', ['support@example.com'], 'smarthost.test:2002'],
    ['', ['someone@example.org'], 'fallback'],
  ];
  for (const [from, to, expected] of cases) {
    test(`${from || '<>'} → ${to.join(',')} goes through ${expected}`, async () => {
      const s = setup();
      s.setRows([s.connection('conn_a', 'billing@example.com', 2001), s.connection('conn_d', 'example.com', 2002)]);
      const outcomes = await s.router.deliver(message(from, to));
      assert.deepEqual(
        [...outcomes.values()].map((o) => o.reply),
        to.map(() => `250 ${expected}`),
      );
    });
  }

  test('a DSN to recipients of two scopes is split between their smarthosts, one outcome per recipient', async () => {
    const s = setup();
    s.setRows([s.connection('conn_d', 'example.com', 2002)]);
    const outcomes = await s.router.deliver(message('', ['a@example.com', 'b@example.org', 'c@example.com']));
    assert.deepEqual(Object.fromEntries([...outcomes].map(([r, o]) => [r, o.reply])), {
      'a@example.com': '250 smarthost.test:2002',
      'b@example.org': '250 fallback',
      'c@example.com': '250 smarthost.test:2002',
    });
    assert.deepEqual(s.built[0]?.recorder.delivered, [{ from: '', to: ['a@example.com', 'c@example.com'] }]);
  });

  test('look-ups are reused for refreshMs; a changed connection gets a new pool and the old one closes once idle', async () => {
    const s = setup(1000);
    s.setRows([s.connection('conn_d', 'example.com', 2002, 1)]);
    await s.router.deliver(message('a@example.com', ['x@example.net']));
    const first = s.built[0]?.recorder;
    assert.ok(first);
    let release: () => void = () => {};
    first.holdUntil(new Promise<void>((resolve) => (release = resolve)));
    const inFlight = s.router.deliver(message('a@example.com', ['y@example.net']));

    s.setRows([s.connection('conn_d', 'example.com', 2003, 2)]);
    await s.router.deliver(message('a@example.com', ['z@example.net']));
    assert.equal(s.built.length, 1, 'within refreshMs the earlier look-up is used');
    s.advance(1000);
    await s.router.deliver(message('a@example.com', ['w@example.net']));
    assert.deepEqual(
      s.built.map((b) => b.target.port),
      [2002, 2003],
    );
    assert.equal(first.closed(), 0, 'not closed while a delivery is using it');
    release();
    await inFlight;
    assert.equal(first.closed(), 1);
    assert.deepEqual(s.built[1]?.recorder.delivered, [{ from: 'a@example.com', to: ['w@example.net'] }]);
  });

  test('a removed connection falls back to the global smarthost; an unchanged one keeps its pool', async () => {
    const s = setup(0);
    s.setRows([s.connection('conn_d', 'example.com', 2002), s.connection('conn_o', 'example.org', 2004)]);
    await s.router.deliver(message('a@example.com', ['x@example.net']));
    s.setRows([s.connection('conn_o', 'example.org', 2004)]);
    await s.router.deliver(message('a@example.com', ['x@example.net']));
    assert.deepEqual(s.fallback.delivered, [{ from: 'a@example.com', to: ['x@example.net'] }]);
    assert.equal(s.built.length, 2, 'conn_o was not rebuilt');
    assert.equal(s.built[0]?.recorder.closed(), 1);
  });

  test('a connection whose secret does not open defers its mail with the reason; it is never sent another way', async () => {
    const s = setup();
    s.setRows([
      {
        id: 'conn_bad',
        scope: 'example.com',
        updatedAt: 1,
        target: () => {
          throw new Error('the connection-secret of conn_bad cannot be opened');
        },
      },
    ]);
    const outcomes = await s.router.deliver(message('a@example.com', ['x@example.net']));
    assert.deepEqual(outcomes.get('x@example.net'), {
      kind: 'deferred',
      reason: 'config',
      reply: 'outbound connection conn_bad cannot be used: the connection-secret of conn_bad cannot be opened',
    });
    assert.equal(s.fallback.delivered.length, 0);
  });

  test('connections that cannot be read defer the mail rather than guess a smarthost', async () => {
    const fallback = recordingCourier('fallback');
    const router = courierRouter({
      connections: {
        routable: async () => {
          throw new Error('database is locked');
        },
      },
      fallback: fallback.courier,
      build: () => fallback.courier,
      clock: { now: () => 0 },
    });
    const outcomes = await router.deliver(message('a@example.com', ['x@example.net']));
    assert.deepEqual(outcomes.get('x@example.net'), {
      kind: 'deferred',
      reason: 'config',
      reply: 'outbound connections could not be read: Error: database is locked',
    });
    assert.equal(fallback.delivered.length, 0);
  });
});
