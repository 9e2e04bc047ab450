/**
 * Property tests (issue 9) for address and domain handling: the route matcher, connection
 * scopes, domain-name checks and the header From reader, under many generated inputs. Each
 * property says what must hold for every input; a failure prints fast-check's seed and the
 * shrunk counterexample (replay: RELAYGATE_PROPERTY_SEED, see test/support/property-runs.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { normaliseScope, scopesFor } from '../src/delivery/connection-scope.js';
import { domainNameProblem } from '../src/dns/domain-name.js';
import { SmtpReply } from '../src/model/smtp-reply.js';
import { headerFields, headerFrom } from '../src/pipeline/header-from.js';
import { decideRoute, normaliseDomain, normaliseRouteMatch, ROUTE_ACTIONS, type RouteRule, routeMatches, senderDomain } from '../src/policy/route-match.js';
import { runs } from './support/property-runs.js';

/** Text made mostly of the characters that matter to address parsers, with some of anything. */
const addressish = fc.oneof(
  fc.string({
    unit: fc.constantFrom('a', 'Z', '0', '-', '.', '@', '*', ' ', '\t', '<', '>', '"', '[', ']', '(', ')', ',', ':', ';', '\\', 'é', 'ß', 'İ'),
    maxLength: 80,
  }),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

/** ASCII letters only: toUpperCase/toLowerCase keep the length and the meaning. */
const asciiCase = (text: string, mask: number) => [...text].map((c, i) => (((mask >> (i % 31)) & 1) === 1 ? c.toUpperCase() : c.toLowerCase())).join('');

/** Valid names within RFC 1035's 253 characters. */
const domain = fc.domain().filter((d) => d.length <= 253);

describe('domain normalisation (route-match normaliseDomain, dns/domain-name)', () => {
  test('normaliseDomain never throws, and what it returns is lower case, without a root dot, and a fixed point', () => {
    fc.assert(
      fc.property(addressish, (text) => {
        const name = normaliseDomain(text);
        if (name === undefined) return;
        assert.equal(name, name.toLowerCase());
        assert.ok(!name.endsWith('.') && name.length <= 253 && name.length > 0);
        assert.equal(normaliseDomain(name), name);
      }),
      runs(2000),
    );
  });

  test('a valid domain in any case, with a root dot or spaces around it, normalises to its lower-case form', () => {
    fc.assert(
      fc.property(domain, fc.integer(), fc.boolean(), (name, mask, rootDot) => {
        const written = ` ${asciiCase(name, mask)}${rootDot ? '.' : ''} `;
        assert.equal(normaliseDomain(written), name.toLowerCase());
      }),
      runs(1000),
    );
  });

  test('domainNameProblem never throws, and a name it accepts is one normaliseDomain keeps as it is', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          addressish,
          domain,
          domain.map((d) => `xn--${d}`),
        ),
        (text) => {
          const problem = domainNameProblem(text);
          if (problem === undefined) assert.equal(normaliseDomain(text), text, 'the two checks disagree');
          else assert.ok(problem.length > 0);
        },
      ),
      runs(2000),
    );
  });

  // A problem that says `use "X"` offers a fix; following the fixes must end at an accepted
  // name or a problem without a fix, never go round in circles.
  test('following the fixes domainNameProblem suggests terminates', () => {
    const written = fc.oneof(
      fc.tuple(domain, fc.integer(), fc.constantFrom('', '.', '..')).map(([d, mask, dots]) => `${asciiCase(d, mask)}${dots}`),
      fc.tuple(domain, fc.constantFrom('bücher', 'ÉCOLE', 'straße', 'пример')).map(([d, label]) => `${label}.${d}`),
      addressish,
    );
    fc.assert(
      fc.property(written, (text) => {
        let name = text;
        for (let step = 0; step < 4; step++) {
          const fix = /use "([^"]*)"/.exec(domainNameProblem(name) ?? '')?.[1];
          if (fix === undefined) return;
          assert.notEqual(fix, name, `the fix for ${JSON.stringify(name)} is the same name`);
          name = fix;
        }
        assert.fail(`no end to the fixes for ${JSON.stringify(text)}; reached ${JSON.stringify(name)}`);
      }),
      runs(1000),
    );
  });
});

describe('route matching (policy/route-match)', () => {
  const match = fc.oneof(
    domain,
    domain.map((d) => `*.${d}`),
  );
  const rules = fc.uniqueArray(fc.record({ position: fc.integer({ min: 1, max: 50 }), match, action: fc.constantFrom(...ROUTE_ACTIONS) }), {
    selector: (r) => r.position,
    maxLength: 8,
  });
  const toRules = (rs: { position: number; match: string; action: RouteRule['action'] }[]): RouteRule[] => rs.map((r) => ({ id: `rte_${r.position}`, ...r }));

  test('normaliseRouteMatch never throws; what it stores is accepted again unchanged', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          addressish,
          match,
          match.map((m) => ` ${m.toUpperCase()} `),
        ),
        (text) => {
          const result = normaliseRouteMatch(text);
          if ('problem' in result) {
            assert.ok(result.problem.includes(text), 'the problem names what was given');
            return;
          }
          assert.deepEqual(normaliseRouteMatch(result.match), result);
        },
      ),
      runs(2000),
    );
  });

  // The reference model: the lowest position whose match names the domain exactly, or names a
  // proper parent of it (at a label boundary) with `*.`.
  function modelRoute(rs: RouteRule[], d: string | undefined): RouteRule | undefined {
    if (d === undefined) return undefined;
    const labels = d.split('.');
    const parents = new Set(labels.slice(1).map((_, i) => labels.slice(i + 1).join('.')));
    return [...rs].sort((a, b) => a.position - b.position).find((r) => (r.match.startsWith('*.') ? parents.has(r.match.slice(2)) : r.match === d));
  }

  test('decideRoute picks the first rule by position that names the sender domain, whatever the case or rule order', () => {
    // Half the senders are under a rule's own domain (pick), so that rules actually match.
    const sender = fc.record({
      local: fc.stringMatching(/^[a-z0-9._+-]{1,20}$/),
      sub: fc.option(fc.stringMatching(/^[a-z0-9]{1,8}$/)),
      other: domain,
      pick: fc.option(fc.nat()),
      mask: fc.integer(),
    });
    const order = fc.array(fc.double({ noNaN: true }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(rules, sender, fc.constantFrom(...ROUTE_ACTIONS), order, (rs, s, fallback, keys) => {
        const named = rs.map((r) => r.match.replace(/^\*\./, ''));
        const base = s.pick === null || named.length === 0 ? s.other : (named[s.pick % named.length] as string);
        const name = s.sub === null ? base : `${s.sub}.${base}`;
        const shuffled = rs
          .map((r, i) => ({ r, key: keys[i] ?? 0 }))
          .sort((a, b) => a.key - b.key)
          .map(({ r }) => r);
        const decision = decideRoute(toRules(shuffled), fallback, `${s.local}@${asciiCase(name, s.mask)}`);
        const expected = modelRoute(toRules(rs), name);
        if (expected === undefined) assert.deepEqual(decision, { source: 'default', action: fallback });
        else assert.deepEqual(decision, { source: 'rule', action: expected.action, rule: expected });
      }),
      runs(2000),
    );
  });

  test('decideRoute never throws on any sender text, and without a domain the default applies', () => {
    fc.assert(
      fc.property(rules, addressish, fc.constantFrom(...ROUTE_ACTIONS), (rs, mailFrom, fallback) => {
        const decision = decideRoute(toRules(rs), fallback, mailFrom);
        if (senderDomain(mailFrom) === undefined) assert.deepEqual(decision, { source: 'default', action: fallback });
        else if (decision.source === 'rule') assert.ok(routeMatches(decision.rule.match, senderDomain(mailFrom) as string));
      }),
      runs(2000),
    );
  });
});

describe('connection scopes (delivery/connection-scope)', () => {
  test('normaliseScope never throws; a scope it returns is lower case and accepted again unchanged', () => {
    fc.assert(
      fc.property(fc.constantFrom('domain', 'address') as fc.Arbitrary<'domain' | 'address'>, addressish, (kind, text) => {
        const result = normaliseScope(kind, text);
        if ('problem' in result) {
          assert.ok(result.problem.includes(text));
          return;
        }
        assert.equal(result.scope, result.scope.toLowerCase());
        assert.deepEqual(normaliseScope(kind, result.scope), result);
      }),
      runs(2000),
    );
  });

  test('an address round-trips without regard to case, and its scopes are itself then its domain', () => {
    const address = fc.emailAddress().filter((a) => a.length - a.lastIndexOf('@') - 1 <= 253);
    fc.assert(
      fc.property(address, fc.integer(), (text, mask) => {
        const expected = text.toLowerCase();
        assert.deepEqual(normaliseScope('address', asciiCase(text, mask)), { scope: expected });
        assert.deepEqual(scopesFor(asciiCase(text, mask)), [expected, expected.slice(expected.lastIndexOf('@') + 1)]);
      }),
      runs(1000),
    );
  });
});

describe('header From (pipeline/header-from)', () => {
  const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => !/^(from|sender)$/i.test(n));
  const otherField = fc.tuple(fieldName, fc.string({ unit: 'grapheme-ascii', maxLength: 40 })).map(([n, v]) => `${n}: ${v.replace(/[\r\n]/g, '')}`);
  const displayName = fc.stringMatching(/^[A-Za-z][A-Za-z .'-]{0,20}$/);

  test('never throws on any header section; every refusal is a 550 5.6.0', () => {
    const section = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc
        .array(
          fc.oneof(
            otherField,
            addressish.map((v) => `From: ${v}`),
            addressish.map((v) => `Sender: ${v}`),
            fc.constantFrom(' folded', '\tfolded', ''),
          ),
          {
            maxLength: 8,
          },
        )
        .map((lines) => lines.join('\r\n')),
    );
    fc.assert(
      fc.property(section, (text) => {
        const result = headerFrom(Buffer.from(text));
        if ('refusal' in result) {
          assert.ok(result.refusal instanceof SmtpReply);
          assert.equal(`${result.refusal.code} ${result.refusal.enhanced}`, '550 5.6.0');
        } else assert.ok(result.addresses.length > 0 && result.addresses.every((a) => a.includes('@')));
      }),
      runs(2000),
    );
  });

  // Among any other fields, in any order, one From with one mailbox gives exactly that address,
  // whatever the case of the field name, with or without a display name, folded or not.
  test('one From mailbox round-trips among other fields, whatever the field-name case or folding', () => {
    const address = fc.emailAddress().filter((a) => !a.includes('"'));
    fc.assert(
      fc.property(
        address,
        fc.option(displayName),
        fc.integer(),
        fc.boolean(),
        fc.array(otherField, { maxLength: 5 }),
        fc.nat(),
        (addr, name, mask, fold, others, at) => {
          const sep = fold ? '\r\n ' : ' ';
          const from = `${asciiCase('From', mask)}:${sep}${name === null ? addr : `"${name}"${sep}<${addr}>`}`;
          const fields = [...others];
          fields.splice(at % (others.length + 1), 0, from);
          assert.deepEqual(headerFrom(Buffer.from(fields.join('\r\n'))), { addresses: [addr] });
        },
      ),
      runs(1000),
    );
  });

  test('folding a field value at its spaces does not change the unfolded value (RFC 5322 §2.2.3)', () => {
    const words = fc.array(fc.stringMatching(/^[!-9;-~]{1,12}$/), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fieldName, words, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (name, ws, folds) => {
        const flat = `${name}: ${ws.join(' ')}`;
        const folded = `${name}:${ws.map((w, i) => `${folds[i] ? '\r\n ' : ' '}${w}`).join('')}`;
        assert.deepEqual(
          headerFields(Buffer.from(folded)).map((f) => ({ name: f.name, value: f.value })),
          headerFields(Buffer.from(flat)),
        );
      }),
      runs(1000),
    );
  });
});
